import { Timestamp, type DocumentData, type Firestore } from '@google-cloud/firestore';
import { conversationId, conversationOf, type BufferedMessage } from '../core/burstTurns.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import { readDocument } from './batchedDocuments.js';
import { bufferedRecord, startedTurnRecord, type BurstBuffer } from './burstBuffer.js';
import { toDocument } from './firestoreDocument.js';
import { INBOUND_COLLECTION } from './firestoreInboundLedger.js';
import type { InboundState } from './inboundLedger.js';

export const BURST_BUFFERS_COLLECTION = 'burst_buffers';

interface StoredBufferedMessage {
  message: InboundMessage;
  arrivedAt: Timestamp | Date;
}

export function createFirestoreBurstBuffer(db: Firestore): BurstBuffer {
  const buffers = db.collection(BURST_BUFFERS_COLLECTION);
  const records = db.collection(INBOUND_COLLECTION);
  const recordRef = (wamid: string) => records.doc(encodeURIComponent(wamid));

  return {
    async add(message, now, retentionMs) {
      const conversation = conversationOf(message);
      const bufferRef = buffers.doc(conversationId(conversation));
      return db.runTransaction(async (tx) => {
        const [record, buffer] = await tx.getAll(recordRef(message.wamid), bufferRef);
        if (record!.exists) return { added: false, state: record!.get('state') as InboundState };
        const pending = [...pendingOf(buffer!.data()), { message, arrivedAt: now }];
        tx.set(recordRef(message.wamid), toDocument(bufferedRecord(message, now, retentionMs)));
        tx.set(bufferRef, {
          ...conversation,
          pending: pending.map(toStored),
          updatedAt: now,
          // Nothing waits longer than a record is kept; an empty buffer is not needed at all.
          expiresAt: new Date(now.getTime() + retentionMs),
        });
        return { added: true, state: 'buffered' as const };
      });
    },
    async pending(conversation) {
      return pendingOf((await readDocument(buffers.doc(conversationId(conversation)))).data());
    },
    async takeTurn(conversation, decide, claim) {
      const bufferRef = buffers.doc(conversationId(conversation));
      return db.runTransaction(async (tx) => {
        const pending = pendingOf((await tx.get(bufferRef)).data());
        const step = decide(pending);
        if (step.kind !== 'take') return step;
        const record = startedTurnRecord(step.messages, claim);
        const taken = new Set(step.messages.map((buffered) => buffered.message.wamid));
        tx.set(recordRef(record.wamid), toDocument(record));
        for (const wamid of taken) {
          if (wamid === record.wamid) continue;
          tx.set(recordRef(wamid), { state: 'merged', turnId: record.wamid, updatedAt: claim.now }, { merge: true });
        }
        tx.set(
          bufferRef,
          { pending: pending.filter((buffered) => !taken.has(buffered.message.wamid)).map(toStored), updatedAt: claim.now },
          { merge: true },
        );
        return { kind: 'taken' as const, record };
      });
    },
  };
}

function pendingOf(data: DocumentData | undefined): BufferedMessage[] {
  const stored = (data?.pending ?? []) as StoredBufferedMessage[];
  return stored.map(({ message, arrivedAt }) => ({
    message,
    arrivedAt: arrivedAt instanceof Timestamp ? arrivedAt.toDate() : arrivedAt,
  }));
}

function toStored(buffered: BufferedMessage): StoredBufferedMessage {
  return { message: toDocument(buffered.message) as InboundMessage, arrivedAt: buffered.arrivedAt };
}
