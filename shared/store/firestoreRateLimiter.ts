import type { Firestore } from '@google-cloud/firestore';
import { readDocument, writeConversationDocument } from './batchedDocuments.js';
import { userDocumentId } from './firestoreDocument.js';
import { RATE_WINDOW_MS, type RateLimiter, type RateWindow } from './rateLimiter.js';

export const RATE_LIMITS_COLLECTION = 'rate_limits';

/**
 * A fixed one-minute window per conversation in `rate_limits/{phoneNumberId}:{userId}`, read with
 * the rest of the conversation and written with the rest of its bookkeeping.
 */
export function createFirestoreRateLimiter(db: Firestore): RateLimiter {
  const collection = db.collection(RATE_LIMITS_COLLECTION);
  const doc = (conversation: { phoneNumberId: string; userId: string }) => collection.doc(userDocumentId(conversation.phoneNumberId, conversation.userId));
  return {
    async get(conversation) {
      const snapshot = await readDocument(doc(conversation));
      if (!snapshot.exists) return undefined;
      const { windowStart, count, messageIds } = snapshot.data() as Partial<RateWindow>;
      if (typeof windowStart !== 'number' || typeof count !== 'number') return undefined;
      return { windowStart, count, messageIds: Array.isArray(messageIds) ? messageIds : [] };
    },
    async put(conversation, window) {
      const expiresAt = new Date(window.windowStart + 2 * RATE_WINDOW_MS);
      await writeConversationDocument(db, conversation, (batch) => batch.set(doc(conversation), { ...window, expiresAt }));
    },
  };
}
