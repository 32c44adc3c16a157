import { randomUUID } from 'node:crypto';
import { Firestore, Timestamp } from '@google-cloud/firestore';
import { afterAll, beforeEach, expect, inject, it } from 'vitest';
import { describeWithEmulators } from '../../test/integration/testStack.js';
import { createFirestoreSessionStore, SESSIONS_COLLECTION } from '../../shared/store/firestoreSessionStore.js';
import { migrateLegacySessions } from './migrateLegacySessions.js';

const NUMBER = '123456789012345';
const OTHER_NUMBER = '987654321098765';
const at = (minutes: number) => Timestamp.fromMillis(Date.parse('2026-12-01T10:00:00Z') + minutes * 60_000);

/** A session document as the bridge wrote it before sessions were kept per number. */
const legacy = (userId: string, agentSessionId: string, minutes: number, phone?: string) => ({
  userId,
  ...(phone ? { phone } : {}),
  profileName: 'Ana',
  agentSessionId,
  createdAt: at(0),
  lastMessageAt: at(minutes),
  expiresAt: at(minutes + 24 * 60),
  messageCount: 4,
});

describeWithEmulators('migrateLegacySessions (Firestore emulator)', () => {
  const dbs: Firestore[] = [];
  let db: Firestore;
  let projectId: string;

  /** A client on the test's project; a second one is a second operator running the script at the same time. */
  const client = () => {
    const emulators = inject('emulators');
    if ('skipReason' in emulators) throw new Error(emulators.skipReason);
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost;
    const created = new Firestore({ projectId, ignoreUndefinedProperties: true });
    dbs.push(created);
    return created;
  };

  beforeEach(async () => {
    projectId = `test-${randomUUID().slice(0, 8)}`;
    db = client();
    const sessions = db.collection(SESSIONS_COLLECTION);
    await Promise.all([
      sessions.doc('5491155550001').set(legacy('5491155550001', 'legacy-ana', 5, '5491155550001')),
      sessions.doc(encodeURIComponent('AR.1349120865')).set(legacy('AR.1349120865', 'legacy-bsuid', 6, '447700900123')),
      // Wrote again after the upgrade, before the migration: the newer session wins.
      sessions.doc('5215500000001').set(legacy('5215500000001', 'legacy-old', 1)),
      sessions.doc(`${NUMBER}:5215500000001`).set({ ...legacy('5215500000001', 'new-after-upgrade', 30), phoneNumberId: NUMBER }),
      // A stale new-scheme document loses to the legacy one.
      sessions.doc('5215500000002').set(legacy('5215500000002', 'legacy-newer', 40)),
      sessions.doc(`${NUMBER}:5215500000002`).set({ ...legacy('5215500000002', 'stale', 2), phoneNumberId: NUMBER }),
      // Another number's session is not touched.
      sessions.doc(`${OTHER_NUMBER}:5491155550001`).set({ ...legacy('5491155550001', 'sales-ana', 7), phoneNumberId: OTHER_NUMBER }),
    ]);
  });

  afterAll(async () => {
    await Promise.all(dbs.map((each) => each.terminate()));
  });

  const snapshot = async (target: Firestore) =>
    Object.fromEntries((await target.collection(SESSIONS_COLLECTION).get()).docs.map((d) => [d.id, d.get('agentSessionId') as string]));

  it('moves every legacy session to the number, keeping the newer one of a conversation, and leaves other numbers alone', async () => {
    const report = await migrateLegacySessions(db, { phoneNumberId: NUMBER });
    expect(report).toEqual({ legacy: 4, moved: 3, supersededByNewer: 1 });
    expect(await snapshot(db)).toEqual({
      [`${NUMBER}:5491155550001`]: 'legacy-ana',
      [`${NUMBER}:AR.1349120865`]: 'legacy-bsuid',
      [`${NUMBER}:5215500000001`]: 'new-after-upgrade',
      [`${NUMBER}:5215500000002`]: 'legacy-newer',
      [`${OTHER_NUMBER}:5491155550001`]: 'sales-ana',
    });

    // The worker's store reads a moved session as that conversation's, every field intact.
    const store = createFirestoreSessionStore(db);
    expect(await store.get({ phoneNumberId: NUMBER, userId: 'AR.1349120865' })).toEqual({
      phoneNumberId: NUMBER,
      userId: 'AR.1349120865',
      phone: '447700900123',
      profileName: 'Ana',
      agentSessionId: 'legacy-bsuid',
      createdAt: at(0).toDate(),
      lastMessageAt: at(6).toDate(),
      expiresAt: at(6 + 24 * 60).toDate(),
      messageCount: 4,
    });
    expect((await store.findForUser('5491155550001')).map((s) => [s.phoneNumberId, s.agentSessionId])).toEqual([
      [OTHER_NUMBER, 'sales-ana'],
      [NUMBER, 'legacy-ana'],
    ]);
  });

  it('is idempotent: a second run, or two runs at once, find nothing more to do and lose nothing', async () => {
    const [first, second] = await Promise.all([
      migrateLegacySessions(db, { phoneNumberId: NUMBER }),
      migrateLegacySessions(client(), { phoneNumberId: NUMBER }),
    ]);
    expect(first.moved + second.moved).toBe(3);
    expect(first.supersededByNewer + second.supersededByNewer).toBe(1);
    const after = await snapshot(db);
    expect(await migrateLegacySessions(db, { phoneNumberId: NUMBER })).toEqual({ legacy: 0, moved: 0, supersededByNewer: 0 });
    expect(await snapshot(db)).toEqual(after);
    expect(Object.keys(after).sort()).toEqual(
      [`${NUMBER}:5491155550001`, `${NUMBER}:AR.1349120865`, `${NUMBER}:5215500000001`, `${NUMBER}:5215500000002`, `${OTHER_NUMBER}:5491155550001`].sort(),
    );
  });

  it('only counts in a dry run', async () => {
    const before = await snapshot(db);
    expect(await migrateLegacySessions(db, { phoneNumberId: NUMBER, dryRun: true })).toEqual({ legacy: 4, moved: 0, supersededByNewer: 0 });
    expect(await snapshot(db)).toEqual(before);
  });

});
