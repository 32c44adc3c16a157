import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { describeWithEmulators } from '../../test/integration/testStack.js';
import { createFirestoreSessionStore } from './firestoreSessionStore.js';
import type { SessionRecord, SessionStore } from './sessionStore.js';

const SUPPORT = '111111111111111';
const SALES = '222222222222222';
const at = (minutes: number) => new Date(Date.parse('2026-12-05T10:00:00Z') + minutes * 60_000);
const session = (phoneNumberId: string, userId: string, minutes: number, extra: Partial<SessionRecord> = {}): SessionRecord => ({
  phoneNumberId,
  userId,
  agentSessionId: `${phoneNumberId}-${userId}`,
  createdAt: at(0),
  lastMessageAt: at(minutes),
  expiresAt: at(minutes + 60),
  messageCount: 0,
  ...extra,
});

describeWithEmulators('Firestore session store: one session per (business number, user) (emulator)', () => {
  let db: Firestore;
  let store: SessionStore;
  beforeAll(async () => {
    const emulators = inject('emulators');
    if ('skipReason' in emulators) return;
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost;
    db = new Firestore({ projectId: `test-${randomUUID().slice(0, 8)}`, ignoreUndefinedProperties: true });
    store = createFirestoreSessionStore(db);
    await Promise.all([
      store.put(session(SUPPORT, '5491155550001', 1, { phone: '5491155550001' })),
      store.put(session(SALES, '5491155550001', 5, { phone: '5491155550001' })),
      store.put(session(SUPPORT, 'AR.777', 3, { phone: '447700900123' })),
      store.put(session(SALES, '5215500000003', 2)),
      store.put(session(SUPPORT, '5215500000004', 4)),
    ]);
  });
  afterAll(async () => {
    await db?.terminate();
  });

  it('keeps a user\'s two conversations apart: reads, touches and deletes address one pair', async () => {
    expect((await store.get({ phoneNumberId: SUPPORT, userId: '5491155550001' }))?.agentSessionId).toBe(`${SUPPORT}-5491155550001`);
    expect((await store.get({ phoneNumberId: SALES, userId: '5491155550001' }))?.agentSessionId).toBe(`${SALES}-5491155550001`);
    expect(await store.get({ phoneNumberId: '333', userId: '5491155550001' })).toBeUndefined();

    await store.touch({ phoneNumberId: SUPPORT, userId: '5491155550001' }, at(9), at(69));
    expect(await store.get({ phoneNumberId: SUPPORT, userId: '5491155550001' })).toMatchObject({ lastMessageAt: at(9), messageCount: 1 });
    expect(await store.get({ phoneNumberId: SALES, userId: '5491155550001' })).toMatchObject({ lastMessageAt: at(5), messageCount: 0 });

    await store.put(session(SALES, 'AR.777', 0));
    expect(await store.delete({ phoneNumberId: SALES, userId: 'AR.777' })).toBe(true);
    expect(await store.delete({ phoneNumberId: SALES, userId: 'AR.777' })).toBe(false);
    expect(await store.get({ phoneNumberId: SUPPORT, userId: 'AR.777' })).toBeDefined();
  });

  it('finds a user\'s sessions on every number by user id or by phone, most recent first', async () => {
    expect((await store.findForUser('5491155550001')).map((s) => s.phoneNumberId)).toEqual([SUPPORT, SALES]);
    expect((await store.findForUser('447700900123')).map((s) => [s.phoneNumberId, s.userId])).toEqual([[SUPPORT, 'AR.777']]);
    expect(await store.findForUser('nobody')).toEqual([]);
  });

  it('lists one number\'s sessions, page by page, newest activity first', async () => {
    const first = await store.list({ limit: 2, phoneNumberId: SUPPORT });
    expect(first.sessions.map((s) => s.userId)).toEqual(['5491155550001', '5215500000004']);
    const second = await store.list({ limit: 2, phoneNumberId: SUPPORT, pageToken: first.nextPageToken });
    expect(second.sessions.map((s) => s.userId)).toEqual(['AR.777']);
    expect(second.nextPageToken).toBeUndefined();
    expect((await store.list({ limit: 10, phoneNumberId: SALES })).sessions.every((s) => s.phoneNumberId === SALES)).toBe(true);
    expect((await store.list({ limit: 10 })).sessions).toHaveLength(5);
  });
});
