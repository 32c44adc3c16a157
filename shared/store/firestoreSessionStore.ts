import { FieldValue, Timestamp, type DocumentData, type Firestore } from '@google-cloud/firestore';
import { readDocument, writeConversationDocument } from './batchedDocuments.js';
import { fromDocument, toDocument, userDocumentId } from './firestoreDocument.js';
import { decodeSessionPageToken, encodeSessionPageToken } from './sessionPageToken.js';
import { InvalidPageTokenError, type SessionRecord, type SessionStore } from './sessionStore.js';

export const SESSIONS_COLLECTION = 'whatsapp_sessions';
const GRPC_NOT_FOUND = 5;
/** More sessions than one user can have with one business's numbers. */
const MAX_SESSIONS_PER_USER = 50;

export function createFirestoreSessionStore(db: Firestore): SessionStore {
  const collection = db.collection(SESSIONS_COLLECTION);
  const doc = (key: { phoneNumberId: string; userId: string }) => collection.doc(userDocumentId(key.phoneNumberId, key.userId));

  return {
    async get(conversation) {
      const snapshot = await readDocument(doc(conversation));
      return snapshot.exists ? fromFirestore(snapshot.data()!) : undefined;
    },
    async findForUser(userIdOrPhone) {
      const [byUser, byPhone] = await Promise.all(
        (['userId', 'phone'] as const).map((field) => collection.where(field, '==', userIdOrPhone).limit(MAX_SESSIONS_PER_USER).get()),
      );
      const byId = new Map([...byUser!.docs, ...byPhone!.docs].map((d) => [d.id, fromFirestore(d.data())]));
      return [...byId.values()].sort((a, b) => b.lastMessageAt.getTime() - a.lastMessageAt.getTime());
    },
    async put(record) {
      await writeConversationDocument(db, record, (batch) => batch.set(doc(record), toDocument(record)));
    },
    async touch(conversation, at, expiresAt) {
      await writeConversationDocument(db, conversation, (batch) => batch.update(doc(conversation), { lastMessageAt: at, expiresAt, messageCount: FieldValue.increment(1) }));
    },
    async delete(conversation) {
      try {
        await doc(conversation).delete({ exists: true });
        return true;
      } catch (error) {
        if ((error as { code?: unknown }).code === GRPC_NOT_FOUND) return false;
        throw error;
      }
    },
    async list({ limit, pageToken, phoneNumberId }) {
      // With a number: the composite index (phoneNumberId, lastMessageAt desc, __name__ desc) in terraform/firestore.tf.
      let query = (phoneNumberId === undefined ? collection : collection.where('phoneNumberId', '==', phoneNumberId))
        .orderBy('lastMessageAt', 'desc')
        .orderBy('__name__', 'desc')
        .limit(limit + 1);
      const cursor = pageToken === undefined ? undefined : decodeSessionPageToken(pageToken);
      if (pageToken !== undefined && !cursor) throw new InvalidPageTokenError('pageToken was not issued by this API');
      if (cursor) query = query.startAfter(Timestamp.fromMillis(cursor.at), cursor.id);
      const snapshot = await query.get();
      const docs = snapshot.docs.slice(0, limit);
      const sessions = docs.map((d) => fromFirestore(d.data()));
      const last = docs.at(-1);
      const hasMore = snapshot.docs.length > limit;
      return {
        sessions,
        ...(hasMore && last
          ? { nextPageToken: encodeSessionPageToken({ at: (last.get('lastMessageAt') as Timestamp).toMillis(), id: last.id }) }
          : {}),
      };
    },
  };
}

function fromFirestore(data: DocumentData): SessionRecord {
  const record = fromDocument<Partial<SessionRecord>>(data);
  return { ...record, messageCount: record.messageCount ?? 0 } as SessionRecord;
}
