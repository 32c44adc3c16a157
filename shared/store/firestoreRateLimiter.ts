import type { Firestore } from '@google-cloud/firestore';
import { userDocumentId } from './firestoreDocument.js';
import { RATE_WINDOW_MS, type RateLimiter, type RateWindow } from './rateLimiter.js';

export const RATE_LIMITS_COLLECTION = 'rate_limits';

/** A fixed one-minute window per conversation in `rate_limits/{phoneNumberId}:{userId}`. */
export function createFirestoreRateLimiter(db: Firestore): RateLimiter {
  const collection = db.collection(RATE_LIMITS_COLLECTION);
  const doc = (conversation: { phoneNumberId: string; userId: string }) => collection.doc(userDocumentId(conversation.phoneNumberId, conversation.userId));
  return {
    async get(conversation) {
      const snapshot = await doc(conversation).get();
      if (!snapshot.exists) return undefined;
      const { windowStart, count, messageIds } = snapshot.data() as Partial<RateWindow>;
      if (typeof windowStart !== 'number' || typeof count !== 'number') return undefined;
      return { windowStart, count, messageIds: Array.isArray(messageIds) ? messageIds : [] };
    },
    async put(conversation, window) {
      await doc(conversation).set({ ...window, expiresAt: new Date(window.windowStart + 2 * RATE_WINDOW_MS) });
    },
  };
}
