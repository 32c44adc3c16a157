import { describe, expect, it } from 'vitest';
import { lazy } from './lazy.js';

describe('lazy', () => {
  it('builds once, on first use', () => {
    let builds = 0;
    const value = lazy(() => ({ n: ++builds }));
    expect(builds).toBe(0);
    expect(value()).toBe(value());
    expect(builds).toBe(1);
  });

  it('shares one pending build between concurrent callers', async () => {
    let builds = 0;
    const value = lazy(async () => ++builds);
    expect(await Promise.all([value(), value(), value()])).toEqual([1, 1, 1]);
  });

  it('tries again after a build that threw or rejected', async () => {
    let calls = 0;
    const thrown = lazy(() => {
      if (++calls === 1) throw new Error('not yet');
      return calls;
    });
    expect(() => thrown()).toThrow('not yet');
    expect(thrown()).toBe(2);

    let attempts = 0;
    const rejected = lazy(async () => {
      if (++attempts === 1) throw new Error('not yet');
      return attempts;
    });
    await expect(rejected()).rejects.toThrow('not yet');
    expect(await rejected()).toBe(2);
    expect(await rejected()).toBe(2);
  });
});
