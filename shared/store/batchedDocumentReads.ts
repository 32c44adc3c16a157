import type { DocumentReference, DocumentSnapshot, Firestore } from '@google-cloud/firestore';

/** More than the worker ever reads at once; bounds one BatchGetDocuments request. */
const MAX_DOCUMENTS_PER_BATCH = 100;

interface Waiting {
  ref: DocumentReference;
  resolve: (snapshot: DocumentSnapshot) => void;
  reject: (error: unknown) => void;
}

const queues = new WeakMap<Firestore, Waiting[]>();

/**
 * `ref.get()`, except that the single-document reads a step starts together (`Promise.all` over
 * several stores) go out as one BatchGetDocuments RPC (`db.getAll`) instead of one RPC each: one
 * round of client, gRPC and emulator/network work rather than several. The queue is flushed once
 * the promise jobs queued at the first read have run (DataLoader's schedule), so reads started
 * after an `await` of an already settled promise still join. A document that does not exist comes
 * back as a snapshot with `exists === false`, as from `ref.get()`; a failed RPC rejects every read
 * of its batch. Only for reads outside a transaction: `tx.get` must stay in its transaction.
 */
export function readDocument(ref: DocumentReference): Promise<DocumentSnapshot> {
  const db = ref.firestore;
  let queue = queues.get(db);
  if (!queue) {
    queue = [];
    queues.set(db, queue);
    void Promise.resolve().then(() => process.nextTick(() => flush(db)));
  }
  const waiting = queue;
  return new Promise((resolve, reject) => waiting.push({ ref, resolve, reject }));
}

function flush(db: Firestore): void {
  const queue = queues.get(db) ?? [];
  queues.delete(db);
  for (let start = 0; start < queue.length; start += MAX_DOCUMENTS_PER_BATCH) {
    void readBatch(db, queue.slice(start, start + MAX_DOCUMENTS_PER_BATCH));
  }
}

async function readBatch(db: Firestore, batch: Waiting[]): Promise<void> {
  try {
    // One snapshot per ref, in order (the client asks for a document named twice once).
    const snapshots = await db.getAll(...batch.map(({ ref }) => ref));
    batch.forEach(({ resolve }, i) => resolve(snapshots[i]!));
  } catch (error) {
    for (const { reject } of batch) reject(error);
  }
}
