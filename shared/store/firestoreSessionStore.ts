import { FieldValue, Timestamp, type DocumentData, type Firestore } from '@google-cloud/firestore';
import { fromDocument, toDocument } from './firestoreDocument.js';
import { decodeSessionPageToken, encodeSessionPageToken } from './sessionPageToken.js';
import { InvalidPageTokenError, type SessionRecord, type SessionStore } from './sessionStore.js';

export const SESSIONS_COLLECTION = 'whatsapp_sessions';
const GRPC_NOT_FOUND = 5;

export function createFirestoreSessionStore(db: Firestore): SessionStore {
  const collection = db.collection(SESSIONS_COLLECTION);
  const doc = (userId: string) => collection.doc(encodeURIComponent(userId));

  return {
    async get(userId) {
      const snapshot = await doc(userId).get();
      return snapshot.exists ? fromFirestore(snapshot.data()!) : undefined;
    },
    async findByPhone(phone) {
      const snapshot = await collection.where('phone', '==', phone).limit(1).get();
      const first = snapshot.docs[0];
      return first ? fromFirestore(first.data()) : undefined;
    },
    async put(record) {
      await doc(record.userId).set(toDocument(record));
    },
    async touch(userId, at, expiresAt) {
      await doc(userId).update({ lastMessageAt: at, expiresAt, messageCount: FieldValue.increment(1) });
    },
    async delete(userId) {
      try {
        await doc(userId).delete({ exists: true });
        return true;
      } catch (error) {
        if ((error as { code?: unknown }).code === GRPC_NOT_FOUND) return false;
        throw error;
      }
    },
    async list({ limit, pageToken }) {
      let query = collection.orderBy('lastMessageAt', 'desc').orderBy('__name__', 'desc').limit(limit + 1);
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
