import { describe, expect, it } from 'vitest';
import { countTurn, RATE_WINDOW_MS } from './rateLimiter.js';

const minute = (n: number, plusMs = 0) => new Date(Date.UTC(2026, 11, 5, 10, n) + plusMs);

describe('countTurn: one fixed window per minute, each turn counted once', () => {
  it('counts turns in the window and starts over in the next minute', () => {
    const first = countTurn(undefined, 'wamid.a', minute(0, 5_000));
    expect(first).toEqual({ hits: 1, next: { windowStart: minute(0).getTime(), count: 1, messageIds: ['wamid.a'] } });
    const second = countTurn(first.next, 'wamid.b', minute(0, 59_000));
    expect(second.hits).toBe(2);
    const nextMinute = countTurn(second.next, 'wamid.c', minute(1));
    expect(nextMinute).toEqual({ hits: 1, next: { windowStart: minute(0).getTime() + RATE_WINDOW_MS, count: 1, messageIds: ['wamid.c'] } });
  });

  it('a retry of a counted turn gets its first position back and nothing to store', () => {
    const a = countTurn(undefined, 'wamid.a', minute(0));
    const b = countTurn(a.next, 'wamid.b', minute(0));
    expect(countTurn(b.next, 'wamid.a', minute(0, 30_000))).toEqual({ hits: 1 });
    expect(countTurn(b.next, 'wamid.b', minute(0, 30_000))).toEqual({ hits: 2 });
  });

  it('keeps counting past the tracked ids without growing the document', () => {
    let window = countTurn(undefined, 'wamid.0', minute(0)).next;
    for (let i = 1; i < 250; i += 1) window = countTurn(window, `wamid.${i}`, minute(0)).next ?? window;
    expect(window?.count).toBe(250);
    expect(window?.messageIds).toHaveLength(200);
  });
});
