import type { DocumentData, Firestore } from '@google-cloud/firestore';
import { readDocument, writeConversationDocument } from './batchedDocuments.js';
import { CONVERSATION_WINDOW_RETENTION_MS, type ConversationWindow, type ConversationWindowStore } from './conversationWindowStore.js';
import { fromDocument, toDocument, userDocumentId } from './firestoreDocument.js';

export const CONVERSATION_WINDOWS_COLLECTION = 'conversation_windows';

export function createFirestoreConversationWindowStore(db: Firestore): ConversationWindowStore {
  const collection = db.collection(CONVERSATION_WINDOWS_COLLECTION);
  const doc = (phoneNumberId: string, userId: string) => collection.doc(userDocumentId(phoneNumberId, userId));
  const newest = (windows: ConversationWindow[]) =>
    windows.reduce<ConversationWindow | undefined>(
      (best, w) => (!best || w.lastUserMessageAt > best.lastUserMessageAt ? w : best),
      undefined,
    );
  return {
    async noteUserMessage(window) {
      const expiresAt = new Date(window.lastUserMessageAt.getTime() + CONVERSATION_WINDOW_RETENTION_MS);
      await writeConversationDocument(db, window, (batch) => batch.set(doc(window.phoneNumberId, window.userId), toDocument({ ...window, expiresAt })));
    },
    async get(phoneNumberId, userId) {
      const snapshot = await readDocument(doc(phoneNumberId, userId));
      return snapshot.exists ? toWindow(snapshot.data()!) : undefined;
    },
    async latest(userIdOrPhone, phoneNumberId) {
      // Single-field equality queries: served by Firestore's automatic indexes, no composite index
      // (a user has a window per business number: a few documents to filter).
      const [byUser, byPhone] = await Promise.all([
        collection.where('userId', '==', userIdOrPhone).get(),
        collection.where('phone', '==', userIdOrPhone).get(),
      ]);
      const windows = [...byUser.docs, ...byPhone.docs].map((d) => toWindow(d.data()));
      return newest(phoneNumberId === undefined ? windows : windows.filter((w) => w.phoneNumberId === phoneNumberId));
    },
  };
}

function toWindow(data: DocumentData): ConversationWindow {
  const { expiresAt: _expiresAt, ...window } = fromDocument<ConversationWindow & { expiresAt: Date }>(data);
  return window;
}
