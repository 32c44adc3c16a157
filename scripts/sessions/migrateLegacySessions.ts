import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import { userDocumentId } from '../../shared/store/firestoreDocument.js';
import { SESSIONS_COLLECTION } from '../../shared/store/firestoreSessionStore.js';

export interface MigrationReport {
  /** Legacy documents found (`whatsapp_sessions/{userId}`, no `phoneNumberId`). */
  legacy: number;
  /** Moved to `whatsapp_sessions/{phoneNumberId}:{userId}`. */
  moved: number;
  /** Dropped because the conversation already had a newer session under the new id. */
  supersededByNewer: number;
}

const PAGE = 200;

/**
 * Sessions written before sessions were kept per business number live at
 * `whatsapp_sessions/{userId}` with no `phoneNumberId`. Each becomes the session of its user with
 * `phoneNumberId` (the number the deployment served until then): moved to the new id, with the
 * field set, in one transaction per document, so an interrupted run loses nothing and a second
 * run finds nothing left to do. When the conversation already has a session under the new id (the
 * user wrote after the upgrade, before this ran), the more recently active one is kept.
 */
export async function migrateLegacySessions(
  db: Firestore,
  options: { phoneNumberId: string; dryRun?: boolean; log?: (line: string) => void },
): Promise<MigrationReport> {
  const collection = db.collection(SESSIONS_COLLECTION);
  const report: MigrationReport = { legacy: 0, moved: 0, supersededByNewer: 0 };
  let after: DocumentReference | undefined;
  for (;;) {
    let query = collection.orderBy('__name__').limit(PAGE);
    if (after) query = query.startAfter(after);
    const page = await query.get();
    for (const snapshot of page.docs) {
      // New ids hold a literal ":" between the two encoded parts; a legacy id is one encoded user id.
      if (snapshot.id.includes(':') || snapshot.get('phoneNumberId') !== undefined) continue;
      report.legacy += 1;
      const userId = snapshot.get('userId');
      if (typeof userId !== 'string' || !userId) {
        options.log?.(`skipped ${snapshot.id}: no userId field`);
        continue;
      }
      if (options.dryRun) continue;
      const target = collection.doc(userDocumentId(options.phoneNumberId, userId));
      const outcome = await db.runTransaction(async (tx) => {
        const [legacy, existing] = await Promise.all([tx.get(snapshot.ref), tx.get(target)]);
        if (!legacy.exists) return 'gone' as const;
        const legacyActivity = legacy.get('lastMessageAt')?.toMillis?.() ?? 0;
        const existingActivity = existing.exists ? (existing.get('lastMessageAt')?.toMillis?.() ?? 0) : -1;
        const keepLegacy = legacyActivity > existingActivity;
        if (keepLegacy) tx.set(target, { ...legacy.data(), phoneNumberId: options.phoneNumberId });
        tx.delete(snapshot.ref);
        return keepLegacy ? ('moved' as const) : ('superseded' as const);
      });
      if (outcome === 'moved') report.moved += 1;
      if (outcome === 'superseded') report.supersededByNewer += 1;
    }
    if (page.docs.length < PAGE) break;
    after = page.docs.at(-1)!.ref;
  }
  return report;
}
