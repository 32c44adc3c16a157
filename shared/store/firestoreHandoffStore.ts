import { Timestamp, type DocumentData, type Firestore } from '@google-cloud/firestore';
import type { ConversationKey } from '../core/burstTurns.js';
import type { TranscriptEntry } from '../core/resumeTranscript.js';
import { readDocument } from './batchedDocuments.js';
import { fromDocument, toDocument, userDocumentId } from './firestoreDocument.js';
import {
  applyPause,
  applyPausedEntries,
  applyResume,
  applyTranscriptDelivered,
  liveRecord,
  type HandoffRecord,
  type HandoffStore,
} from './handoffStore.js';
import { decodeSessionPageToken, encodeSessionPageToken } from './sessionPageToken.js';
import { InvalidPageTokenError } from './sessionStore.js';

export const HANDOFFS_COLLECTION = 'handoffs';
/** Firestore's limit on the values of one `in` filter. */
const IN_QUERY_LIMIT = 30;

export function createFirestoreHandoffStore(db: Firestore): HandoffStore {
  const collection = db.collection(HANDOFFS_COLLECTION);
  const doc = (key: ConversationKey) => collection.doc(userDocumentId(key.phoneNumberId, key.userId));

  /** Reads the record and writes what `decide` makes of it (deleting it on undefined), in one transaction. */
  function update<T>(key: ConversationKey, decide: (existing: HandoffRecord | undefined) => { next: HandoffRecord | undefined; result: T; write: boolean }) {
    const ref = doc(key);
    return db.runTransaction(async (tx) => {
      const snapshot = await tx.get(ref);
      const { next, result, write } = decide(snapshot.exists ? fromFirestore(snapshot.data()!) : undefined);
      if (write && next) tx.set(ref, toFirestore(next));
      else if (write && snapshot.exists) tx.delete(ref);
      return result;
    });
  }

  return {
    async get(key, now) {
      const snapshot = await readDocument(doc(key));
      return liveRecord(snapshot.exists ? fromFirestore(snapshot.data()!) : undefined, now);
    },
    pause(key, change, now, entry) {
      return update(key, (existing) => {
        const next = applyPause(existing, key, change, now, entry);
        return { next, result: next, write: true };
      });
    },
    resume(key, now) {
      return update(key, (existing) => {
        const next = applyResume(existing, now);
        return { next, result: next, write: next !== undefined };
      });
    },
    recordWhilePaused(key, entries, now) {
      return update(key, (existing) => {
        const next = applyPausedEntries(existing, entries, now);
        return { next, result: next !== undefined, write: next !== undefined };
      });
    },
    async transcriptDelivered(key, entryIds, now) {
      await update(key, (existing) => ({ next: applyTranscriptDelivered(existing, entryIds, now), result: undefined, write: true }));
    },
    async listPaused({ now, limit, pageToken }) {
      // A single-field range and order: served by Firestore's automatic index on `until`.
      let query = collection.where('until', '>', now).orderBy('until').orderBy('__name__').limit(limit + 1);
      const cursor = pageToken === undefined ? undefined : decodeSessionPageToken(pageToken);
      if (pageToken !== undefined && !cursor) throw new InvalidPageTokenError('pageToken was not issued by this API');
      if (cursor) query = query.startAfter(Timestamp.fromMillis(cursor.at), cursor.id);
      const snapshot = await query.get();
      const docs = snapshot.docs.slice(0, limit);
      const last = docs.at(-1);
      return {
        handoffs: docs.map((d) => fromFirestore(d.data())),
        ...(snapshot.docs.length > limit && last
          ? { nextPageToken: encodeSessionPageToken({ at: (last.get('until') as Timestamp).toMillis(), id: last.id }) }
          : {}),
      };
    },
    async listPausedForUsers(userIdsOrPhones, now) {
      const ids = [...new Set(userIdsOrPhones)];
      const chunks = Array.from({ length: Math.ceil(ids.length / IN_QUERY_LIMIT) }, (_, i) => ids.slice(i * IN_QUERY_LIMIT, (i + 1) * IN_QUERY_LIMIT));
      // Equality (`in`) on one field: Firestore's automatic indexes serve it, no composite index.
      const snapshots = await Promise.all(
        chunks.flatMap((chunk) => [collection.where('userId', 'in', chunk).get(), collection.where('phone', 'in', chunk).get()]),
      );
      const records = new Map(snapshots.flatMap((snapshot) => snapshot.docs).map((d) => [d.id, fromFirestore(d.data())]));
      return [...records.values()].filter((record) => record.until > now && record.expiresAt > now);
    },
  };
}

function toFirestore(record: HandoffRecord): DocumentData {
  return toDocument({ ...record, entries: record.entries.map(toDocument) });
}

function fromFirestore(data: DocumentData): HandoffRecord {
  const record = fromDocument<HandoffRecord>(data);
  return {
    ...record,
    entries: ((record.entries ?? []) as unknown as DocumentData[]).map((entry) => fromDocument<TranscriptEntry>(entry)),
    omitted: record.omitted ?? 0,
  };
}
