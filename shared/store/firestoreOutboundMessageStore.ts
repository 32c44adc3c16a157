import type { DocumentData, Firestore } from '@google-cloud/firestore';
import { isDocumentId } from './documentId.js';
import { advanceStatus, type StatusReport } from '../core/deliveryStatus.js';
import { readDocument, sentChunkGroup, writeDocumentInGroup } from './batchedDocuments.js';
import { fromDocument, toDocument } from './firestoreDocument.js';
import type { OutboundMessageStore, OutboundRecord } from './outboundMessageStore.js';

export const OUTBOUND_COLLECTION = 'outbound_messages';

/** `outbound_messages/{wamid}`, expiring `retentionMs` after it was last written (TTL on `expiresAt`). */
export function createFirestoreOutboundMessageStore(db: Firestore, retentionMs: number): OutboundMessageStore {
  const collection = db.collection(OUTBOUND_COLLECTION);
  const doc = (wamid: string) => collection.doc(encodeURIComponent(wamid));
  const expiry = (now: Date) => new Date(now.getTime() + retentionMs);

  return {
    async recordSent(message, now) {
      // A merge, not a create: the first status webhook can overtake this write, and the write done
      // twice (a commit retried after its answer was lost) changes nothing.
      const data = toDocument({ ...message, createdAt: now, updatedAt: now, expiresAt: expiry(now) });
      const ref = doc(message.wamid);
      if (message.inReplyTo === undefined) {
        await ref.set(data, { merge: true });
        return;
      }
      // A reply's chunk: in one commit with the ledger's record of it, which the caller starts alongside.
      await writeDocumentInGroup(db, sentChunkGroup(message.inReplyTo), (batch) => batch.set(ref, data, { merge: true }));
    },
    async applyStatus(report, now) {
      const ref = doc(report.wamid);
      return db.runTransaction(async (tx) => {
        const snapshot = await tx.get(ref);
        const existing = snapshot.exists ? fromFirestore(snapshot.data()!) : undefined;
        const { wamid, phoneNumberId, userId, ...status } = report;
        const next = advanceStatus(existing?.status, status);
        if (!next) return { ...(existing?.status ? { previous: existing.status } : {}) };
        const update = {
          ...(existing ? {} : { wamid, phoneNumberId, userId, createdAt: now }),
          status: next.status,
          statusAt: next.timestamp,
          // A failure replaced by a newer status of another kind must not keep the old error.
          error: next.error ?? null,
          updatedAt: now,
          expiresAt: expiry(now),
        };
        tx.set(ref, toDocument(update), { merge: true });
        const changed = fromFirestore({ ...(snapshot.data() ?? {}), ...update });
        return { changed, ...(existing?.status ? { previous: existing.status } : {}) };
      });
    },
    async get(wamid) {
      // An id Firestore cannot hold (an operator's typo on the admin route) names no message.
      if (!isDocumentId(encodeURIComponent(wamid))) return undefined;
      const snapshot = await readDocument(doc(wamid));
      return snapshot.exists ? fromFirestore(snapshot.data()!) : undefined;
    },
  };
}

function fromFirestore(data: DocumentData): OutboundRecord {
  const { status, statusAt, error, ...rest } = fromDocument<Record<string, unknown>>(data);
  const report: StatusReport | undefined =
    typeof status === 'string'
      ? {
          status: status as StatusReport['status'],
          timestamp: Number(statusAt),
          ...(error && typeof error === 'object' ? { error: error as StatusReport['error'] & object } : {}),
        }
      : undefined;
  return { ...(rest as unknown as OutboundRecord), ...(report ? { status: report } : {}) };
}
