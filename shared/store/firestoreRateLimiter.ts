import type { Firestore } from '@google-cloud/firestore';
import type { RateLimiter } from './sessionStore.js';

export const RATE_LIMITS_COLLECTION = 'rate_limits';
const WINDOW_MS = 60_000;

/** A fixed one-minute window per user in `rate_limits/{userId}`, counted in a transaction. */
export function createFirestoreRateLimiter(db: Firestore): RateLimiter {
  const collection = db.collection(RATE_LIMITS_COLLECTION);
  return {
    async hit(userId, now) {
      const windowStart = Math.floor(now.getTime() / WINDOW_MS) * WINDOW_MS;
      const ref = collection.doc(encodeURIComponent(userId));
      return db.runTransaction(async (tx) => {
        const snapshot = await tx.get(ref);
        const sameWindow = snapshot.get('windowStart') === windowStart;
        const count = (sameWindow ? (snapshot.get('count') as number) : 0) + 1;
        tx.set(ref, { windowStart, count, expiresAt: new Date(windowStart + 2 * WINDOW_MS) });
        return count;
      });
    },
  };
}
