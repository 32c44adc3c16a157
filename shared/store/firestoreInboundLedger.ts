import { FieldValue, type DocumentData, type Firestore } from '@google-cloud/firestore';
import * as z from 'zod';
import { replyChunkSchema } from '../whatsapp/rendering/replyChunk.js';
import { sentChunkGroup, writeDocumentInGroup } from './batchedDocuments.js';
import { fromDocument, toDocument } from './firestoreDocument.js';
import { decideClaim, type InboundLedger, type InboundRecord } from './inboundLedger.js';

export const INBOUND_COLLECTION = 'inbound_messages';
const GRPC_ALREADY_EXISTS = 6;

export function createFirestoreInboundLedger(db: Firestore): InboundLedger {
  const collection = db.collection(INBOUND_COLLECTION);
  const doc = (wamid: string) => collection.doc(encodeURIComponent(wamid));
  const now = () => FieldValue.serverTimestamp();

  return {
    async claim(request) {
      // A message seen for the first time (nearly always) is claimed in one write that fails if
      // the record exists; only a redelivery or a replay pays for the transaction.
      if (request.replayId === undefined) {
        const first = decideClaim(undefined, request);
        try {
          await doc(request.wamid).create(toDocument(first.record));
          return first;
        } catch (error) {
          if ((error as { code?: unknown }).code !== GRPC_ALREADY_EXISTS) throw error;
        }
      }
      return db.runTransaction(async (tx) => {
        const ref = doc(request.wamid);
        const snapshot = await tx.get(ref);
        const stored = snapshot.exists ? snapshot.data()! : undefined;
        const existing = stored ? fromFirestore(stored) : undefined;
        const result = decideClaim(existing, request);
        if (result.outcome === 'claimed' || result.outcome === 'busy') tx.set(ref, toStoredRecord(result.record, stored));
        return result;
      });
    },
    async saveReply(wamid, replyChunks, agentMs) {
      await doc(wamid).update({ replyChunks, agentMs, updatedAt: now() });
    },
    async recordChunkSent(wamid, chunk, answered) {
      // In one commit with the chunk's outbound record, which the caller starts alongside.
      await writeDocumentInGroup(db, sentChunkGroup(wamid), (batch) =>
        batch.update(doc(wamid), {
          sentChunks: FieldValue.arrayUnion(chunk),
          // A flat copy of the ids, so a quoted reply can be found with array-contains.
          ...(chunk.graphMessageId ? { sentMessageIds: FieldValue.arrayUnion(chunk.graphMessageId) } : {}),
          updatedAt: now(),
          ...(answered ? { state: 'answered', leaseUntil: FieldValue.delete() } : {}),
        }),
      );
    },
    async markAnswered(wamid) {
      await doc(wamid).update({ state: 'answered', leaseUntil: FieldValue.delete(), updatedAt: now() });
    },
    async markFailed(wamid, reason, { exhausted, apologySent }) {
      await doc(wamid).update({
        state: 'failed',
        failureReason: reason,
        exhausted,
        apologySent: apologySent || undefined,
        leaseUntil: FieldValue.delete(),
        updatedAt: now(),
      });
    },
    async releaseLease(wamid, reason) {
      await doc(wamid).update({ leaseUntil: FieldValue.delete(), failureReason: reason, updatedAt: now() });
    },
    async findBySentMessageId(graphMessageId) {
      const snapshot = await collection.where('sentMessageIds', 'array-contains', graphMessageId).limit(1).get();
      const first = snapshot.docs[0];
      return first ? fromFirestore(first.data()) : undefined;
    },
    async get(wamid) {
      const snapshot = await doc(wamid).get();
      return snapshot.exists ? fromFirestore(snapshot.data()!) : undefined;
    },
  };
}

const storedReplySchema = z.array(replyChunkSchema);

/**
 * The stored reply is read back through its schema: it is sent as it reads. One written by
 * another version of the bridge (an older or newer deploy) that this one cannot read is left out
 * and named in `unreadableReply`, so the claim still succeeds and the core decides what to do,
 * instead of every delivery throwing until the message dead-letters with no reason given.
 */
function fromFirestore(data: DocumentData): InboundRecord {
  const record = fromDocument<Partial<InboundRecord>>(data);
  const base = { ...record, sentChunks: record.sentChunks ?? [] } as InboundRecord;
  if (record.replyChunks === undefined) return base;
  const parsed = storedReplySchema.safeParse(record.replyChunks);
  if (parsed.success) return { ...base, replyChunks: parsed.data };
  const issues = parsed.error.issues.slice(0, 3).map((issue) => `${['replyChunks', ...issue.path].join('.')}: ${issue.message}`);
  return { ...base, replyChunks: undefined, unreadableReply: issues.join('; ') };
}

/**
 * The record as the claim writes it back. `unreadableReply` is only this version's reading; the
 * stored reply it could not read is kept as it was, so a version that can read it (after a
 * rollback, on a replay) still finds it.
 */
function toStoredRecord(record: InboundRecord, stored: DocumentData | undefined): DocumentData {
  const { unreadableReply, ...rest } = record;
  return { ...toDocument(rest), ...(unreadableReply !== undefined && stored ? { replyChunks: stored.replyChunks } : {}) };
}
