import type { Firestore } from '@google-cloud/firestore';
import { readDocument } from './batchedDocuments.js';
import { fromDocument, toDocument, userDocumentId } from './firestoreDocument.js';
import type { OptOutRecord, OptOutStore } from './optOutStore.js';

export const OPT_OUTS_COLLECTION = 'opt_outs';

export function createFirestoreOptOutStore(db: Firestore): OptOutStore {
  const collection = db.collection(OPT_OUTS_COLLECTION);
  const doc = (phoneNumberId: string, userId: string) => collection.doc(userDocumentId(phoneNumberId, userId));
  return {
    async get(phoneNumberId, userId) {
      const snapshot = await readDocument(doc(phoneNumberId, userId));
      return snapshot.exists ? fromDocument<OptOutRecord>(snapshot.data()!) : undefined;
    },
    async getByPhone(phoneNumberId, phone) {
      // A single-field equality query (Firestore's automatic index): a user has an opt-out per number at most.
      const snapshot = await collection.where('phone', '==', phone).get();
      return snapshot.docs.map((d) => fromDocument<OptOutRecord>(d.data())).find((r) => r.phoneNumberId === phoneNumberId);
    },
    async listForUser(userId) {
      const snapshot = await collection.where('userId', '==', userId).get();
      return snapshot.docs.map((d) => fromDocument<OptOutRecord>(d.data()));
    },
    async optOut(record) {
      await doc(record.phoneNumberId, record.userId).set(toDocument(record));
    },
    async optIn(phoneNumberId, userId) {
      await doc(phoneNumberId, userId).delete();
    },
  };
}
