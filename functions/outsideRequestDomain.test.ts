import { create } from 'node:domain';
import { describe, expect, it } from 'vitest';
import { outsideRequestDomain } from './outsideRequestDomain.js';

const activeDomain = () => (process as { domain?: unknown }).domain;

/** Runs `body` inside a fresh domain, as functions-framework runs each request. */
function inRequestDomain<T>(body: () => Promise<T>): Promise<T> {
  const domain = create();
  return new Promise<T>((resolve, reject) => {
    domain.on('error', reject);
    domain.run(() => void body().then(resolve, reject));
  });
}

describe('outsideRequestDomain', () => {
  it('runs the work and its continuations outside the request’s domain, and the request stays in it', async () => {
    const seen = await inRequestDomain(async () => {
      const request = activeDomain();
      const seen: Record<string, boolean> = {};
      const result = await outsideRequestDomain(async () => {
        seen.workStart = activeDomain() === request;
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen.workContinuation = activeDomain() === request;
        return 42;
      });
      seen.result = result === 42;
      seen.handlerAfter = activeDomain() === request && request !== undefined;
      return seen;
    });
    expect(seen).toEqual({ workStart: false, workContinuation: false, result: true, handlerAfter: true });
  });

  it('re-enters the domain when the work throws', async () => {
    const back = await inRequestDomain(async () => {
      const request = activeDomain();
      expect(() =>
        outsideRequestDomain(() => {
          throw new Error('boom');
        }),
      ).toThrow('boom');
      return activeDomain() === request;
    });
    expect(back).toBe(true);
  });

  it('just runs the work outside any domain', () => {
    expect(outsideRequestDomain(() => 'done')).toBe('done');
  });
});
