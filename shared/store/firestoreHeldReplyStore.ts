import { FieldValue, type DocumentData, type Firestore } from '@google-cloud/firestore';
import { readDocument } from './batchedDocuments.js';
import { fromDocument, toDocument, userDocumentId } from './firestoreDocument.js';
import { mergeHold, type HeldReplies, type HeldReplyStore } from './heldReplyStore.js';

export const HELD_REPLIES_COLLECTION = 'held_replies';

export function createFirestoreHeldReplyStore(db: Firestore): HeldReplyStore {
  const collection = db.collection(HELD_REPLIES_COLLECTION);
  const doc = (phoneNumberId: string, userId: string) => collection.doc(userDocumentId(phoneNumberId, userId));
  return {
    async hold(request) {
      const ref = doc(request.phoneNumberId, request.userId);
      return db.runTransaction(async (tx) => {
        const snapshot = await tx.get(ref);
        const { next, sendTemplate } = mergeHold(snapshot.exists ? fromFirestore(snapshot.data()!) : undefined, request);
        tx.set(ref, toDocument(next));
        return { sendTemplate };
      });
    },
    async templateSent(phoneNumberId, userId, templateWamid) {
      await doc(phoneNumberId, userId).update({ templateWamid });
    },
    async releaseTemplateClaim(phoneNumberId, userId) {
      await doc(phoneNumberId, userId).update({ templateClaimedAt: FieldValue.delete() });
    },
    async get(phoneNumberId, userId, now) {
      const snapshot = await readDocument(doc(phoneNumberId, userId));
      if (!snapshot.exists) return undefined;
      const held = fromFirestore(snapshot.data()!);
      return held.expiresAt > now && held.replies.length > 0 ? held : undefined;
    },
    async delivered(phoneNumberId, userId, replyId) {
      const ref = doc(phoneNumberId, userId);
      await db.runTransaction(async (tx) => {
        const snapshot = await tx.get(ref);
        if (!snapshot.exists) return;
        const held = fromFirestore(snapshot.data()!);
        const replies = held.replies.filter((reply) => reply.id !== replyId);
        if (replies.length === 0) tx.delete(ref);
        else tx.update(ref, { replies: replies.map(toDocument) });
      });
    },
    async discard(phoneNumberId, userId) {
      await doc(phoneNumberId, userId).delete();
    },
  };
}

function fromFirestore(data: DocumentData): HeldReplies {
  const held = fromDocument<HeldReplies>(data);
  return { ...held, replies: (held.replies ?? []).map((reply) => fromDocument(reply as unknown as DocumentData)) };
}
