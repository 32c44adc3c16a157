import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { textWebhook } from '../../local/webhookBodies.js';
import { INBOUND_COLLECTION } from '../../shared/store/firestoreInboundLedger.js';
import { describeWithEmulators, postWebhook, startTestStack } from '../integration/testStack.js';
import { agentCallsFor, sleep, textsTo, until, waitForLine } from './helpers.js';

/*
 * A reply stored by another version of the bridge (a deploy with a newer chunk kind, or an older
 * shape) that this version cannot read, met by a redelivery: on the emulators, through the worker.
 * It must neither loop until it dead-letters nor send anything twice.
 */

const APOLOGY = 'Sorry, something went wrong on our side.';

/** A chunk kind this version does not know, as a newer deploy might have stored it. */
const carouselChunk = { kind: 'carousel', cards: [{ title: 'Talla M', imageUrl: 'https://example.com/m.jpg' }] };
const textChunk = (body: string) => ({ kind: 'message', message: { type: 'text', text: { body } } });

describeWithEmulators('a stored reply another version wrote, that this one cannot read', () => {
  let stack: LocalStack;
  let db: Firestore;
  beforeAll(async () => {
    stack = await startTestStack({ APOLOGY_TEXT: APOLOGY });
    db = new Firestore({ projectId: stack.projectId });
  });
  afterAll(async () => {
    await db?.terminate();
    await stack?.stop();
  });

  const recordOf = (wamid: string) => db.collection(INBOUND_COLLECTION).doc(encodeURIComponent(wamid));

  /** The record an earlier attempt on another deploy left: its reply stored, its lease run out. */
  async function leftByAnotherDeploy(wamid: string, phone: string, replyChunks: unknown[], sentChunks: { index: number; graphMessageId: string }[]) {
    const now = Date.now();
    await recordOf(wamid).set({
      wamid,
      userId: phone,
      state: 'processing',
      attempts: 1,
      leaseUntil: new Date(now - 60_000),
      replyChunks,
      agentMs: 900,
      sentChunks,
      sentMessageIds: sentChunks.map((chunk) => chunk.graphMessageId),
      createdAt: new Date(now - 120_000),
      updatedAt: new Date(now - 60_000),
      expiresAt: new Date(now + 7 * 24 * 3600_000),
    });
  }

  it('none of it was sent: logged with the wamid and the schema issue, answered anew once, the record answered', async () => {
    const phone = '447700900301';
    const wamid = 'wamid.STOREDBYNEWERDEPLOY1';
    await leftByAnotherDeploy(wamid, phone, [carouselChunk], []);
    const from = stack.worker.lines.length;

    expect((await postWebhook(stack, textWebhook({ phone }, '¿Tenéis la talla M?', { wamid }))).status).toBe(200);
    await stack.sandbox!.waitFor(() => textsTo(stack.sandbox!, phone).length > 0, 30_000);

    const line = await waitForLine(stack.worker.lines, (l) => l.includes('answering anew'), 10_000, from);
    expect(JSON.parse(line)).toMatchObject({ severity: 'ERROR', wamid, issue: expect.stringContaining('replyChunks.0'), sentChunks: 0 });
    expect(agentCallsFor(stack.agent!, phone)).toHaveLength(1);
    const record = await until(async () => {
      const data = (await recordOf(wamid).get()).data();
      return data?.state === 'answered' && data;
    }, 10_000, 'the record answered');
    // The new reply replaced the unreadable one, in this version's shape.
    expect(record.replyChunks).toMatchObject([textChunk('Echo #1: ¿Tenéis la talla M?')]);
    await sleep(1500);
    expect(textsTo(stack.sandbox!, phone)).toEqual(['Echo #1: ¿Tenéis la talla M?']);
  });

  it('part of it was sent: nothing sent again, one apology, the record failed with its reason and acknowledged once', async () => {
    const phone = '447700900302';
    const wamid = 'wamid.STOREDBYNEWERDEPLOY2';
    await leftByAnotherDeploy(wamid, phone, [textChunk('Tenemos estas tallas:'), carouselChunk], [{ index: 0, graphMessageId: 'wamid.ALREADYSENT0' }]);
    const from = stack.worker.lines.length;

    expect((await postWebhook(stack, textWebhook({ phone }, '¿Y en azul?', { wamid }))).status).toBe(200);
    await stack.sandbox!.waitFor(() => textsTo(stack.sandbox!, phone).length > 0, 30_000);

    const line = await waitForLine(stack.worker.lines, (l) => l.includes('failed permanently') && l.includes(wamid), 10_000, from);
    expect(JSON.parse(line)).toMatchObject({ reason: 'stored_reply_unreadable', issue: expect.stringContaining('replyChunks.1'), sentChunks: 1 });
    const record = await until(async () => {
      const data = (await recordOf(wamid).get()).data();
      return data?.state === 'failed' && data;
    }, 10_000, 'the record failed');
    expect(record).toMatchObject({ failureReason: 'stored_reply_unreadable', exhausted: false, apologySent: true, attempts: 2 });
    // What this version could not read is kept as it was, for a version that can.
    expect(record.replyChunks).toEqual([textChunk('Tenemos estas tallas:'), carouselChunk]);
    expect(agentCallsFor(stack.agent!, phone)).toHaveLength(0);

    // Acknowledged: no further delivery, nothing more sent.
    await sleep(3000);
    expect(textsTo(stack.sandbox!, phone)).toEqual([APOLOGY]);
    expect((await recordOf(wamid).get()).data()).toMatchObject({ state: 'failed', attempts: 2 });
  });
});
