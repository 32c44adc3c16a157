import type { DocumentReference, DocumentSnapshot, Firestore, WriteBatch } from '@google-cloud/firestore';

/** More than the worker ever reads at once; bounds one BatchGetDocuments request. */
const MAX_READS_PER_BATCH = 100;
/** Firestore's limit on the writes of one commit. */
const MAX_WRITES_PER_BATCH = 500;

interface Waiting<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Gathers the calls a step starts together (`Promise.all` over several stores) per Firestore
 * client, and hands them to `run` in groups of at most `max` once the promise jobs queued at the
 * first call have run (DataLoader's schedule): calls started after an `await` of an already
 * settled promise still join. `run` settles every call of its group.
 */
function sameTickBatches<Item, Result>(max: number, run: (db: Firestore, batch: Waiting<Item, Result>[]) => Promise<void>) {
  // Per client, per group: calls of different groups never share a batch.
  const queues = new Map<Firestore, Map<string, Waiting<Item, Result>[]>>();
  const flush = (db: Firestore, group: string) => {
    const groups = queues.get(db);
    const queue = groups?.get(group) ?? [];
    groups?.delete(group);
    if (groups?.size === 0) queues.delete(db);
    for (let start = 0; start < queue.length; start += max) void run(db, queue.slice(start, start + max));
  };
  return (db: Firestore, item: Item, group: string): Promise<Result> => {
    let groups = queues.get(db);
    if (!groups) {
      groups = new Map();
      queues.set(db, groups);
    }
    let queue = groups.get(group);
    if (!queue) {
      queue = [];
      groups.set(group, queue);
      void Promise.resolve().then(() => process.nextTick(() => flush(db, group)));
    }
    const waiting = queue;
    return new Promise((resolve, reject) => waiting.push({ item, resolve, reject }));
  };
}

const batchRead = sameTickBatches<DocumentReference, DocumentSnapshot>(MAX_READS_PER_BATCH, async (db, batch) => {
  try {
    // One snapshot per ref, in order (the client asks for a document named twice once).
    const snapshots = await db.getAll(...batch.map(({ item }) => item));
    batch.forEach(({ resolve }, i) => resolve(snapshots[i]!));
  } catch (error) {
    for (const { reject } of batch) reject(error);
  }
});

/**
 * `ref.get()`, except that the single-document reads a step starts together go out as one
 * BatchGetDocuments RPC (`db.getAll`) instead of one RPC each: one round of client, gRPC and
 * network work rather than several. A document that does not exist comes back as a snapshot with
 * `exists === false`, as from `ref.get()`; a failed RPC rejects every read of its batch. Only for
 * reads outside a transaction: `tx.get` must stay in its transaction.
 */
export function readDocument(ref: DocumentReference): Promise<DocumentSnapshot> {
  // Every read may share a BatchGet with any other: reads change nothing, so sharing one across conversations is safe.
  return batchRead(ref.firestore, ref, 'reads');
}

type Write = (batch: WriteBatch) => void;

const batchWrite = sameTickBatches<Write, void>(MAX_WRITES_PER_BATCH, async (db, batch) => {
  const writeBatch = db.batch();
  const added: Waiting<Write, void>[] = [];
  for (const waiting of batch) {
    try {
      waiting.item(writeBatch);
      added.push(waiting);
    } catch (error) {
      // Refused before anything was sent (bad data): that write alone fails.
      waiting.reject(error);
    }
  }
  if (added.length === 0) return;
  try {
    await writeBatch.commit();
    for (const { resolve } of added) resolve();
  } catch (error) {
    for (const { reject } of added) reject(error);
  }
});

/**
 * A write of one conversation's bookkeeping (`batch => batch.set(ref, …)` or `.update`: its
 * session, rate limit, window) that goes out in one Commit with the other writes of that
 * conversation a step starts together, instead of one RPC each, and never with another
 * conversation's: the writes of a commit succeed or fail together, and one user's failing write
 * (an update of a session deleted meanwhile) must not take another user's with it. A write whose
 * failure must not take the conversation's others with it (a stored reply, a ledger record) does
 * not belong here. Not for transactions.
 */
export function writeConversationDocument(db: Firestore, conversation: { phoneNumberId: string; userId: string }, write: Write): Promise<void> {
  return batchWrite(db, write, `conversation:${conversation.phoneNumberId}:${conversation.userId}`);
}

/**
 * A write that goes out in one Commit with the writes of the same `group` a step starts together,
 * and never with anything else: for records that belong together and must not fail because of
 * another step's write. A sent chunk's ledger record and its outbound record share the group
 * `sentChunkGroup(turn)`: one RPC instead of two, written or failed together.
 */
export function writeDocumentInGroup(db: Firestore, group: string, write: Write): Promise<void> {
  return batchWrite(db, write, `group:${group}`);
}

/** The group of the writes that record a chunk of a turn's reply as sent (the ledger's and the outbound store's). */
export function sentChunkGroup(turnId: string): string {
  return `sent chunk of ${turnId}`;
}
