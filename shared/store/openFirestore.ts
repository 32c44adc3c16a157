import { Firestore } from '@google-cloud/firestore';

/**
 * The Firestore client every adapter uses. `ignoreUndefinedProperties` lets records carry unset
 * optional fields as `undefined`: they are left out of the document rather than refused.
 */
export function openFirestore(projectId: string): Firestore {
  return new Firestore({ projectId, ignoreUndefinedProperties: true });
}

/**
 * Reads one document that never exists (nothing writes `warm_up`): the client's first RPC loads
 * its gRPC client, opens the channel and fetches credentials, which a cold instance would
 * otherwise pay for on its first message. Billed as one document read.
 */
export async function warmUpFirestore(db: Firestore): Promise<void> {
  await db.collection('warm_up').doc('connection').get();
}
