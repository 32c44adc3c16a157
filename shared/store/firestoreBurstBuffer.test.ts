import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { describeWithEmulators } from '../../test/integration/testStack.js';
import { nextTurn, type BufferedMessage, type ConversationKey } from '../core/burstTurns.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import type { BurstBuffer } from './burstBuffer.js';
import { createFirestoreBurstBuffer } from './firestoreBurstBuffer.js';
import { createFirestoreInboundLedger } from './firestoreInboundLedger.js';
import type { InboundLedger } from './inboundLedger.js';

const t0 = Date.parse('2026-12-05T10:00:00Z');
const at = (ms: number) => new Date(t0 + ms);
const RETENTION_MS = 7 * 24 * 3600_000;
const settings = { windowMs: 2000, maxWaitMs: 8000 };
const endsBurst = (message: InboundMessage) => message.content.kind === 'text' && message.content.text === '/reset';
const decideAt = (ms: number) => (pending: BufferedMessage[]) => nextTurn(pending, at(ms), settings, endsBurst);
const claimAt = (ms: number) => ({ now: at(ms), leaseMs: 60_000, retentionMs: RETENTION_MS });

describeWithEmulators('Firestore burst buffer (emulator)', () => {
  let db: Firestore;
  let buffer: BurstBuffer;
  let ledger: InboundLedger;
  beforeAll(() => {
    const emulators = inject('emulators');
    if ('skipReason' in emulators) return;
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost;
    db = new Firestore({ projectId: `test-${randomUUID().slice(0, 8)}`, ignoreUndefinedProperties: true });
    buffer = createFirestoreBurstBuffer(db);
    ledger = createFirestoreInboundLedger(db);
  });
  afterAll(async () => {
    await db?.terminate();
  });

  /** A fresh conversation per test: the business number is shared, the user is new. */
  function conversation() {
    const key: ConversationKey = { phoneNumberId: 'pn1', userId: `user-${randomUUID().slice(0, 8)}` };
    let n = 0;
    const message = (text = `m${n + 1}`, phoneNumberId = key.phoneNumberId): InboundMessage => ({
      v: 1,
      wamid: `wamid.${key.userId}.${++n}`,
      userId: key.userId,
      phoneNumberId,
      timestamp: t0 / 1000,
      content: { kind: 'text', text },
    });
    return { key, message };
  }
  const wamids = (pending: BufferedMessage[]) => pending.map((buffered) => buffered.message.wamid);

  it('adds messages in arrival order with a buffered record each; a duplicate adds nothing', async () => {
    const { key, message } = conversation();
    const [a, b] = [message('hola'), message('quiero cambiar mi pedido')];
    expect(await buffer.add(a, at(0), RETENTION_MS)).toEqual({ added: true, state: 'buffered' });
    expect(await buffer.add(b, at(700), RETENTION_MS)).toEqual({ added: true, state: 'buffered' });
    expect(await buffer.add(a, at(900), RETENTION_MS)).toEqual({ added: false, state: 'buffered' });
    const pending = await buffer.pending(key);
    expect(wamids(pending)).toEqual([a.wamid, b.wamid]);
    expect(pending[1]!.arrivedAt).toEqual(at(700));
    expect(pending[0]!.message).toEqual(a);
    expect(await ledger.get(a.wamid)).toMatchObject({ state: 'buffered', attempts: 0, expiresAt: at(RETENTION_MS) });
  });

  it('counts concurrent deliveries of one wamid once', async () => {
    const { key, message } = conversation();
    const a = message();
    const results = await Promise.all(Array.from({ length: 5 }, () => buffer.add(a, at(0), RETENTION_MS)));
    expect(results.filter((result) => result.added)).toHaveLength(1);
    expect(wamids(await buffer.pending(key))).toEqual([a.wamid]);
  });

  it('keeps each business number’s conversation with the same user apart', async () => {
    const { key, message } = conversation();
    const a = message('to the first number');
    const b = message('to the second number', 'pn2');
    await buffer.add(a, at(0), RETENTION_MS);
    await buffer.add(b, at(10), RETENTION_MS);
    expect(wamids(await buffer.pending(key))).toEqual([a.wamid]);
    expect(wamids(await buffer.pending({ ...key, phoneNumberId: 'pn2' }))).toEqual([b.wamid]);
  });

  it('waits while the window is open and changes nothing', async () => {
    const { key, message } = conversation();
    const a = message();
    await buffer.add(a, at(0), RETENTION_MS);
    expect(await buffer.takeTurn(key, decideAt(1000), claimAt(1000))).toEqual({ kind: 'wait', until: at(2000) });
    expect(wamids(await buffer.pending(key))).toEqual([a.wamid]);
    expect((await ledger.get(a.wamid))?.state).toBe('buffered');
  });

  it('takes a due burst: the turn is claimed at its first wamid, the others point to it, later ones stay', async () => {
    const { key, message } = conversation();
    const [a, b, c] = [message('hola'), message('pedido 4512'), message('talla M')];
    await buffer.add(a, at(0), RETENTION_MS);
    await buffer.add(b, at(600), RETENTION_MS);
    const taken = await buffer.takeTurn(key, decideAt(2600), claimAt(2600));
    // c arrives while the agent works on the taken turn.
    await buffer.add(c, at(3000), RETENTION_MS);
    if (taken.kind !== 'taken') throw new Error(`expected a take, got ${taken.kind}`);
    expect(taken.record).toMatchObject({ wamid: a.wamid, turnId: a.wamid, state: 'processing', attempts: 1, leaseUntil: at(62_600) });
    expect(taken.record.turnMessages).toEqual([a, b]);
    expect(await ledger.get(a.wamid)).toMatchObject({ state: 'processing', turnMessages: [a, b], createdAt: at(0) });
    expect(await ledger.get(b.wamid)).toMatchObject({ state: 'merged', turnId: a.wamid });
    expect(wamids(await buffer.pending(key))).toEqual([c.wamid]);
    // The turn's record follows the ledger's claim rules: busy while leased.
    expect((await ledger.claim({ wamid: a.wamid, userId: key.userId, now: at(3000), leaseMs: 60_000, retentionMs: RETENTION_MS })).outcome).toBe('busy');
    // A late duplicate of a merged message is recognised.
    expect(await buffer.add(b, at(9000), RETENTION_MS)).toEqual({ added: false, state: 'merged' });
  });

  it('lets only one of two concurrent takes have the turn', async () => {
    const { key, message } = conversation();
    const [a, b] = [message(), message()];
    await buffer.add(a, at(0), RETENTION_MS);
    await buffer.add(b, at(100), RETENTION_MS);
    const results = await Promise.all([buffer.takeTurn(key, decideAt(5000), claimAt(5000)), buffer.takeTurn(key, decideAt(5000), claimAt(5000))]);
    expect(results.map((result) => result.kind).sort()).toEqual(['idle', 'taken']);
    expect(await buffer.pending(key)).toEqual([]);
  });

  it('a reset inside a burst: what came before is one turn, the reset its own, what follows starts afresh', async () => {
    const { key, message } = conversation();
    const [a, b, reset, c] = [message('hola'), message('pedido'), message('/reset'), message('nuevo tema')];
    for (const [i, m] of [a, b, reset, c].entries()) await buffer.add(m, at(i * 300), RETENTION_MS);
    const first = await buffer.takeTurn(key, decideAt(1000), claimAt(1000));
    const second = await buffer.takeTurn(key, decideAt(1000), claimAt(1000));
    const third = await buffer.takeTurn(key, decideAt(1000), claimAt(1000));
    expect(first.kind === 'taken' && first.record.turnMessages).toEqual([a, b]);
    expect(second.kind === 'taken' && second.record.turnMessages).toEqual([reset]);
    expect(third).toEqual({ kind: 'wait', until: at(2900) });
  });
});
