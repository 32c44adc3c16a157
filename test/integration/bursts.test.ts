import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { mediaWebhook, newWamid, reactionWebhook, textWebhook, type WebhookSender } from '../../local/webhookBodies.js';
import { agentCallsFor, makeUsers, openLedger, sleep, textsTo, until } from '../reliability/helpers.js';
import { describeWithEmulators, postWebhook, startTestStack } from './testStack.js';

// The default window: on this shared machine a worker's inbound step can take most of a second.
const WINDOW_MS = 2000;
const MAX_WAIT_MS = 4000;
const RESET_CONFIRM_TEXT = 'Fresh start!';

describeWithEmulators('bursts: quick messages become one agent turn (emulators)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({
      BURST_WINDOW_MS: String(WINDOW_MS),
      BURST_MAX_WAIT_MS: String(MAX_WAIT_MS),
      RESET_CONFIRM_TEXT,
      USER_RATE_LIMIT_PER_MINUTE: '1000',
      AGENT_ACCEPTS_MEDIA: 'true',
    });
    // A first message warms the worker (clients, connections), so the tests see its steady pace.
    const [warm] = makeUsers('warmup', 1);
    await postWebhook(stack, textWebhook(warm!, 'warm up'));
    await stack.sandbox!.waitFor(() => textsTo(stack.sandbox!, warm!.phone).length > 0, 60_000);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(() => {
    stack.sandbox!.reset();
    stack.agent!.reset();
  });

  /** Sends each text as its own webhook, `gapMs` apart; returns the wamids. */
  async function send(user: WebhookSender, texts: string[], gapMs: number): Promise<string[]> {
    const wamids: string[] = [];
    for (const [i, text] of texts.entries()) {
      if (i > 0) await sleep(gapMs);
      const wamid = newWamid();
      wamids.push(wamid);
      expect((await postWebhook(stack, textWebhook(user, text, { wamid }))).status).toBe(200);
    }
    return wamids;
  }

  it('five quick messages: one agent call with all of them in order, one reply, every message accounted for', async () => {
    const [user] = makeUsers('burst', 1);
    const texts = ['hola', 'quiero cambiar mi pedido', 'el 4512', 'talla M', 'gracias'];
    const wamids = await send(user!, texts, 150);
    await stack.sandbox!.waitFor(() => textsTo(stack.sandbox!, user!.phone).length > 0, 60_000);
    await sleep(WINDOW_MS + 1000);

    const calls = agentCallsFor(stack.agent!, user!.phone);
    expect(calls.map((call) => call.text)).toEqual([texts.join('\n')]);
    expect(textsTo(stack.sandbox!, user!.phone)).toEqual([`Echo #1: ${texts.join('\n')}`]);
    // The user saw every message read while the bot waited.
    const reads = stack.sandbox!.requests.filter((r) => (r.body as { status?: string } | undefined)?.status === 'read');
    const readWamids = reads.map((r) => (r.body as { message_id: string }).message_id);
    for (const wamid of wamids) expect(readWamids).toContain(wamid);

    const { ledger, close } = openLedger(stack);
    try {
      const turn = await ledger.get(wamids[0]!);
      expect(turn).toMatchObject({ state: 'answered', turnId: wamids[0] });
      expect(turn?.turnMessages?.map((m) => m.wamid)).toEqual(wamids);
      for (const wamid of wamids.slice(1)) expect(await ledger.get(wamid)).toMatchObject({ state: 'merged', turnId: wamids[0] });
    } finally {
      await close();
    }
  });

  it('the sandbox’s "Send burst" control: five quick messages, one answer', async () => {
    const [user] = makeUsers('sandboxburst', 1);
    const response = await request(`${stack.sandboxUrl}api/burst`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sandbox': '1' },
      body: JSON.stringify({ user: { phone: user!.phone, name: user!.name }, count: 5 }),
    });
    expect(response.statusCode).toBe(200);
    await response.body.dump();
    await stack.sandbox!.waitFor(() => textsTo(stack.sandbox!, user!.phone).length > 0, 60_000);
    await sleep(WINDOW_MS + 1000);
    const burst = [1, 2, 3, 4, 5].map((i) => `Burst message ${i} of 5`).join('\n');
    expect(agentCallsFor(stack.agent!, user!.phone).map((call) => call.text)).toEqual([burst]);
    expect(textsTo(stack.sandbox!, user!.phone)).toEqual([`Echo #1: ${burst}`]);
  });

  it('a lone message is answered once the window has passed', async () => {
    const [user] = makeUsers('lone', 1);
    const started = Date.now();
    await send(user!, ['¿a qué hora abren?'], 0);
    await stack.sandbox!.waitFor(() => textsTo(stack.sandbox!, user!.phone).length > 0, 60_000);
    const latency = Date.now() - started;
    console.log(`bursts: a lone message answered after ${latency} ms (window ${WINDOW_MS} ms)`);
    expect(latency).toBeGreaterThanOrEqual(WINDOW_MS);
    expect(textsTo(stack.sandbox!, user!.phone)).toEqual(['Echo #1: ¿a qué hora abren?']);
  });

  it('a message sent while the agent works on the turn is not merged into it: it is the next turn, answered after', async () => {
    const [user] = makeUsers('late', 1);
    stack.agent!.latencyMs = (turn) => (turn === 1 ? 2500 : 0);
    await send(user!, ['primera parte', 'segunda parte'], 200);
    await until(() => agentCallsFor(stack.agent!, user!.phone).length > 0, 20_000, 'the first agent call');
    await send(user!, ['llegó tarde'], 0);
    await stack.sandbox!.waitFor(() => textsTo(stack.sandbox!, user!.phone).length >= 2, 60_000);
    await sleep(WINDOW_MS + 500);
    expect(agentCallsFor(stack.agent!, user!.phone).map((call) => call.text)).toEqual(['primera parte\nsegunda parte', 'llegó tarde']);
    expect(textsTo(stack.sandbox!, user!.phone)).toEqual(['Echo #1: primera parte\nsegunda parte', 'Echo #2: llegó tarde']);
  });

  it('a reset ends the burst: what came before is one turn, the reset is alone, what follows starts afresh', async () => {
    const [user] = makeUsers('reset', 1);
    await send(user!, ['hola', 'mi pedido', '/reset', 'otra cosa', 'y algo más'], 150);
    await stack.sandbox!.waitFor(() => textsTo(stack.sandbox!, user!.phone).length >= 3, 60_000);
    await sleep(WINDOW_MS + 500);
    expect(agentCallsFor(stack.agent!, user!.phone).map((call) => call.text)).toEqual(['hola\nmi pedido', 'otra cosa\ny algo más']);
    // The second turn runs in the new session: its echo counter starts again.
    expect(textsTo(stack.sandbox!, user!.phone)).toEqual(['Echo #1: hola\nmi pedido', RESET_CONFIRM_TEXT, 'Echo #1: otra cosa\ny algo más']);
  });

  it('the cap bounds the wait of a user who keeps writing', async () => {
    const [user] = makeUsers('cap', 1);
    const texts = Array.from({ length: 9 }, (_, i) => `parte ${i + 1}`);
    const started = Date.now();
    await send(user!, texts, 700);
    const firstReplyAt = await until(() => (textsTo(stack.sandbox!, user!.phone).length > 0 ? Date.now() : undefined), 20_000, 'a reply');
    await stack.sandbox!.waitFor(() => agentCallsFor(stack.agent!, user!.phone).flatMap((c) => c.text.split('\n')).length >= 9, 30_000);
    await sleep(WINDOW_MS + 500);
    const calls = agentCallsFor(stack.agent!, user!.phone).map((call) => call.text.split('\n'));
    console.log(`bursts: 9 messages 700 ms apart → turns of ${calls.map((c) => c.length).join(', ')} messages; first reply after ${firstReplyAt - started} ms`);
    // 700 ms apart is well inside the window: only the cap can have cut this into several turns.
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.flat()).toEqual(texts);
    expect(textsTo(stack.sandbox!, user!.phone)).toHaveLength(calls.length);
  });

  it('duplicate and concurrent deliveries of a burst’s messages still make one turn and one reply', async () => {
    const [user] = makeUsers('dupburst', 1);
    const bodies = ['uno', 'dos', 'tres'].map((text) => textWebhook(user!, text, { wamid: newWamid() }));
    for (const body of bodies) {
      const statuses = await Promise.all([postWebhook(stack, body), postWebhook(stack, body)]);
      expect(statuses.map((s) => s.status)).toEqual([200, 200]);
      await sleep(100);
    }
    await stack.sandbox!.waitFor(() => textsTo(stack.sandbox!, user!.phone).length > 0, 60_000);
    // A late re-delivery after the answer.
    expect((await postWebhook(stack, bodies[1]!)).status).toBe(200);
    await sleep(WINDOW_MS + 1500);
    expect(agentCallsFor(stack.agent!, user!.phone).map((call) => call.text)).toEqual(['uno\ndos\ntres']);
    expect(textsTo(stack.sandbox!, user!.phone)).toEqual(['Echo #1: uno\ndos\ntres']);
  });

  it('a file the model cannot open inside a burst: described in its place, nothing attached, one answer', async () => {
    const [user] = makeUsers('docx', 1);
    const docxType = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
    const mediaId = stack.sandbox!.addMedia(Buffer.alloc(2048, 7), docxType);
    await send(user!, ['hola'], 0);
    await sleep(150);
    const media = { id: mediaId, mimeType: docxType, sha256: 'unused', filename: 'pedido.docx' };
    expect((await postWebhook(stack, mediaWebhook(user!, 'document', media, { wamid: newWamid() }))).status).toBe(200);
    await sleep(150);
    await send(user!, ['¿lo ves?'], 0);
    const sentTo = () => stack.sandbox!.sent().filter((m) => m.to === `+${user!.phone}`).map((m) => [m.type, m.text]);
    // The local agent answers the word "document" with its menu: a text, then the PDF.
    await stack.sandbox!.waitFor(() => sentTo().length >= 2, 60_000);
    await sleep(WINDOW_MS + 500);

    const calls = agentCallsFor(stack.agent!, user!.phone);
    expect(calls.map((call) => call.input.message)).toEqual([
      [
        'hola',
        '[The user sent a document: pedido.docx]',
        `[The user attached a file "pedido.docx" (${docxType}, 2.0 KB) that cannot be opened here: its content is not available to you. Images, audio, video, PDF and plain-text files can be read.]`,
        '¿lo ves?',
      ].join('\n'),
    ]);
    expect(sentTo()).toEqual([['text', 'Here is our menu.'], ['document', 'Menu']]);
    expect(stack.sandbox!.requests.some((r) => r.path.includes(mediaId) && r.path.startsWith('/whatsapp_business/attachments/'))).toBe(false);
  });

  it('a reaction inside a burst neither splits it nor gets an answer', async () => {
    const [user] = makeUsers('react', 1);
    await send(user!, ['mira esto'], 0);
    await sleep(150);
    expect((await postWebhook(stack, reactionWebhook(user!, newWamid(), '👍'))).status).toBe(200);
    await sleep(150);
    await send(user!, ['¿qué opinas?'], 0);
    await stack.sandbox!.waitFor(() => textsTo(stack.sandbox!, user!.phone).length > 0, 60_000);
    await sleep(WINDOW_MS + 500);
    expect(textsTo(stack.sandbox!, user!.phone)).toEqual(['Echo #1: mira esto\n¿qué opinas?']);
  });
});
