import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { describeWithEmulators } from '../../test/integration/testStack.js';
import { noteStaffActivity, pause } from '../core/handoff.js';
import { MAX_STORED_ENTRIES, type TranscriptEntry } from '../core/resumeTranscript.js';
import { createFirestoreHandoffStore } from './firestoreHandoffStore.js';
import { HANDOFF_RETENTION_MS, type HandoffStore } from './handoffStore.js';
import { InvalidPageTokenError } from './sessionStore.js';

const t0 = Date.parse('2026-12-05T10:00:00Z');
const at = (minutes: number) => new Date(t0 + minutes * 60_000);
const settings = { timeoutMs: 60 * 60_000 };
const userSaid = (n: number, text: string): TranscriptEntry => ({ from: 'user', text, at: at(n), id: `wamid.u${n}` });
const staffSaid = (n: number, text: string): TranscriptEntry => ({ from: 'staff', text, at: at(n), id: `wamid.s${n}` });

describeWithEmulators('Firestore hand-off store (emulator)', () => {
  let db: Firestore;
  let store: HandoffStore;
  beforeAll(() => {
    const emulators = inject('emulators');
    if ('skipReason' in emulators) return;
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost;
    db = new Firestore({ projectId: `test-${randomUUID().slice(0, 8)}`, ignoreUndefinedProperties: true });
    store = createFirestoreHandoffStore(db);
  });
  afterAll(async () => {
    await db?.terminate();
  });

  const conversation = (phoneNumberId = 'pn1') => ({ phoneNumberId, userId: `user-${randomUUID().slice(0, 8)}` });

  it('an agent pause, the user’s messages while paused (each once), then the transcript handed over', async () => {
    const key = conversation();
    const paused = await store.pause({ ...key, phone: '5491100000001' }, (current) => pause(current, { by: 'agent', reason: 'refund' }, at(0), settings), at(0));
    expect(paused).toMatchObject({ ...key, phone: '5491100000001', since: at(0), until: at(60), by: 'agent', reason: 'refund', entries: [], omitted: 0 });
    expect(paused.expiresAt).toEqual(new Date(at(60).getTime() + HANDOFF_RETENTION_MS));

    const duplicates = await Promise.all(Array.from({ length: 4 }, () => store.recordWhilePaused(key, [userSaid(1, 'hola?')], at(1))));
    expect(duplicates).toEqual([true, true, true, true]);
    expect(await store.recordWhilePaused(key, [userSaid(2, 'sigo esperando')], at(2))).toBe(true);
    expect((await store.get(key, at(3)))?.entries).toEqual([userSaid(1, 'hola?'), userSaid(2, 'sigo esperando')]);

    // The pause runs out: the user's next message is not recorded, it gets its turn.
    expect(await store.recordWhilePaused(key, [userSaid(61, 'hola??')], at(61))).toBe(false);
    await store.transcriptDelivered(key, ['wamid.u1', 'wamid.u2'], at(61));
    expect(await store.get(key, at(61))).toBeUndefined();
  });

  it('a burst’s messages are kept together in one transaction, each once however often the turn is delivered', async () => {
    const key = conversation();
    await store.pause(key, (current) => pause(current, { by: 'agent' }, at(0), settings), at(0), staffSaid(0, 'te paso con Ana'));
    const burst = [userSaid(1, 'hola'), userSaid(2, 'necesito ayuda'), userSaid(3, 'es urgente')];
    // The same turn delivered three times at once, and a message repeated inside it.
    const kept = await Promise.all(Array.from({ length: 3 }, () => store.recordWhilePaused(key, [...burst, burst[0]!], at(4))));
    expect(kept).toEqual([true, true, true]);
    expect((await store.get(key, at(5)))?.entries).toEqual([staffSaid(0, 'te paso con Ana'), ...burst]);

    // A burst larger than the bound keeps the newest entries and counts the rest.
    const flood = Array.from({ length: MAX_STORED_ENTRIES + 2 }, (_, i) => userSaid(10 + i, `m${i}`));
    expect(await store.recordWhilePaused(key, flood, at(6))).toBe(true);
    const bounded = await store.get(key, at(7));
    expect(bounded?.entries).toHaveLength(MAX_STORED_ENTRIES);
    expect(bounded?.entries.at(-1)).toEqual(flood.at(-1));
    expect(bounded?.omitted).toBe(flood.length + 4 - MAX_STORED_ENTRIES);
  });

  it('a pause that ended before the call keeps none of the burst', async () => {
    const key = conversation();
    await store.pause(key, (current) => pause(current, { by: 'admin', minutes: 30 }, at(0), settings), at(0), staffSaid(0, 'te llamo'));
    await store.resume(key, at(5));
    expect(await store.recordWhilePaused(key, [userSaid(6, 'hola'), userSaid(7, 'sigo acá')], at(7))).toBe(false);
    expect(await store.get(key, at(8))).toMatchObject({ endedAt: at(5), entries: [staffSaid(0, 'te llamo')], omitted: 0 });
  });

  it('staff activity extends the pause and adds the staff’s words; an echo with no pause starts one', async () => {
    const key = conversation();
    const echo = (minute: number, text: string) =>
      store.pause(key, (current) => noteStaffActivity(current, 'business_app', at(minute), settings), at(minute), staffSaid(minute, text));
    expect(await echo(0, 'Hola, soy Ana')).toMatchObject({ by: 'business_app', since: at(0), until: at(60) });
    expect(await echo(50, 'Ya te hice el reembolso')).toMatchObject({ by: 'business_app', since: at(0), until: at(110) });
    expect((await store.get(key, at(100)))?.entries.map((e) => e.text)).toEqual(['Hola, soy Ana', 'Ya te hice el reembolso']);
  });

  it('an operator resumes: the transcript stays for the next turn; a new pause during that turn keeps the record', async () => {
    const key = conversation();
    await store.pause(key, (current) => pause(current, { by: 'admin', minutes: 30 }, at(0), settings), at(0), staffSaid(0, 'te llamo'));
    expect(await store.resume(key, at(5))).toMatchObject({ until: at(5), endedAt: at(5), entries: [staffSaid(0, 'te llamo')] });
    expect(await store.resume(key, at(6))).toBeUndefined();
    // Staff write again while the first turn after the pause is with the agent.
    await store.pause(key, (current) => noteStaffActivity(current, 'business_app', at(7), settings), at(7), staffSaid(7, 'una cosa más'));
    await store.transcriptDelivered(key, ['wamid.s0'], at(8));
    expect(await store.get(key, at(8))).toMatchObject({ by: 'business_app', since: at(7), entries: [staffSaid(7, 'una cosa más')] });
  });

  it('lists paused conversations soonest-to-resume first, page by page, and by user or phone', async () => {
    const pausedUntil = async (minutes: number, phoneNumberId = 'pn-list') => {
      const key = { ...conversation(phoneNumberId), phone: `549${Math.floor(Math.random() * 1e9)}` };
      await store.pause(key, (current) => pause(current, { by: 'admin', minutes }, at(0), settings), at(0));
      return key;
    };
    // Far in the future so other tests' pauses in this project come first or not at all.
    const listNow = at(100_000);
    const [a, b, c] = [await pausedUntil(100_030), await pausedUntil(100_010), await pausedUntil(100_020)];
    const ended = await pausedUntil(100_040);
    await store.resume(ended, at(1));
    const first = await store.listPaused({ now: listNow, limit: 2 });
    expect(first.handoffs.map((h) => h.userId)).toEqual([b.userId, c.userId]);
    const second = await store.listPaused({ now: listNow, limit: 2, pageToken: first.nextPageToken! });
    expect(second.handoffs.map((h) => h.userId)).toEqual([a.userId]);
    expect(second.nextPageToken).toBeUndefined();
    await expect(store.listPaused({ now: listNow, limit: 2, pageToken: 'forged' })).rejects.toBeInstanceOf(InvalidPageTokenError);

    const other = await pausedUntil(100_030, 'pn-other');
    const sameUser = { ...other, phoneNumberId: 'pn-third' };
    await store.pause(sameUser, (current) => pause(current, { by: 'agent' }, at(0), settings), at(0));
    expect((await store.listPausedForUsers([other.userId], at(1))).map((h) => h.phoneNumberId).sort()).toEqual(['pn-other', 'pn-third']);
    expect((await store.listPausedForUsers([a.phone], at(1))).map((h) => h.userId)).toEqual([a.userId]);
    expect((await store.listPausedForUsers([b.userId, c.phone, a.userId, b.userId], at(1))).map((h) => h.userId).sort()).toEqual(
      [a.userId, b.userId, c.userId].sort(),
    );
    expect(await store.listPausedForUsers([ended.userId], at(2))).toEqual([]);
  });

  it('treats a record past its expiry as gone (the emulator has no TTL)', async () => {
    const key = conversation();
    await store.pause(key, (current) => pause(current, { by: 'agent' }, at(0), settings), at(0), staffSaid(0, 'x'));
    const afterRetention = new Date(at(60).getTime() + HANDOFF_RETENTION_MS + 1);
    expect(await store.get(key, afterRetention)).toBeUndefined();
    expect(await store.pause(key, (current) => pause(current, { by: 'admin' }, afterRetention, settings), afterRetention)).toMatchObject({
      since: afterRetention,
      by: 'admin',
      entries: [],
    });
  });
});
