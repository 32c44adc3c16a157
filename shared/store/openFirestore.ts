import { Firestore } from '@google-cloud/firestore';

/**
 * The Firestore client every adapter uses. `ignoreUndefinedProperties` lets records carry unset
 * optional fields as `undefined`: they are left out of the document rather than refused.
 */
export function openFirestore(projectId: string): Firestore {
  return new Firestore({ projectId, ignoreUndefinedProperties: true });
}
