import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';

/**
 * The Firestore client every adapter uses. `ignoreUndefinedProperties` lets records carry unset
 * optional fields as `undefined`: they are left out of the document rather than refused.
 */
export function openFirestore(projectId: string): Firestore {
  return new Firestore({ projectId, ignoreUndefinedProperties: true });
}

/**
 * Runs, once, the two kinds of RPC a message's path starts with (its claim): a read that opens a
 * read-write transaction (BatchGetDocuments) and that transaction's commit (Commit, no writes).
 * The client's first RPC loads its gRPC client, opens the channel and fetches credentials, and
 * each method's first call has costs of its own, which a cold instance's first message would
 * otherwise pay. The document never exists and nothing writes `warm_up`; its id is new each time,
 * so instances starting together do not wait on one document's lock. Billed as one document read.
 */
export async function warmUpFirestore(db: Firestore): Promise<void> {
  const nowhere = db.collection('warm_up').doc(randomUUID());
  await db.runTransaction(async (transaction) => {
    await transaction.get(nowhere);
  });
}
