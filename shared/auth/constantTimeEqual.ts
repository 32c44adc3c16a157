import { createHash, timingSafeEqual } from 'node:crypto';

/** Compares secrets without leaking, through timing, how much of them matched (or their length). */
export function constantTimeEqual(received: string | undefined, expected: string): boolean {
  if (received === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(received), digest(expected));
}
