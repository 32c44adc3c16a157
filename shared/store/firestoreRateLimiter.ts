import type { Firestore } from '@google-cloud/firestore';
import { userDocumentId } from './firestoreDocument.js';
import type { RateLimiter } from './rateLimiter.js';

export const RATE_LIMITS_COLLECTION = 'rate_limits';
const WINDOW_MS = 60_000;
/** Beyond this many messages in a minute, retries may count twice; the user is far over any sane limit. */
const TRACKED_MESSAGES = 200;

/** A fixed one-minute window per conversation in `rate_limits/{phoneNumberId}:{userId}`, counted in a transaction. */
export function createFirestoreRateLimiter(db: Firestore): RateLimiter {
  const collection = db.collection(RATE_LIMITS_COLLECTION);
  return {
    async hit(conversation, messageId, now) {
      const windowStart = Math.floor(now.getTime() / WINDOW_MS) * WINDOW_MS;
      const ref = collection.doc(userDocumentId(conversation.phoneNumberId, conversation.userId));
      return db.runTransaction(async (tx) => {
        const snapshot = await tx.get(ref);
        const sameWindow = snapshot.get('windowStart') === windowStart;
        const messageIds: string[] = sameWindow ? (snapshot.get('messageIds') ?? []) : [];
        const seenAt = messageIds.indexOf(messageId);
        if (seenAt >= 0) return seenAt + 1;
        const count = (sameWindow ? (snapshot.get('count') as number) : 0) + 1;
        if (messageIds.length < TRACKED_MESSAGES) messageIds.push(messageId);
        tx.set(ref, { windowStart, count, messageIds, expiresAt: new Date(windowStart + 2 * WINDOW_MS) });
        return count;
      });
    },
  };
}
