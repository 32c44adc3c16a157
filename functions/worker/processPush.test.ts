import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SessionNotFoundError, type AgentClient, type AgentTurn } from '../../shared/agent/agentClient.js';
import type { CoreSettings } from '../../shared/core/coreDeps.js';
import { PermanentError, RetryableError } from '../../shared/errors.js';
import { createLogger } from '../../shared/log/logger.js';
import type { PushDelivery } from '../../shared/queue/pushEnvelope.js';
import {
  createMemoryBurstBuffer,
  createMemoryConversationWindowStore,
  createMemoryHandoffStore,
  createMemoryHeldReplyStore,
  createMemoryInboundLedger,
  createMemoryOptOutStore,
  createMemoryOutboundMessageStore,
  createMemoryRateLimiter,
  createMemorySessionStore,
} from '../../test/fakes/memoryStores.js';
import { createMemoryMedia } from '../../test/fakes/memoryMedia.js';
import { testCoreSettings } from '../../test/fakes/workerSettings.js';
import type { OutboundTemplate, OutboundText, WhatsAppClient } from '../../shared/whatsapp/graphClient.js';
import { markdownToWhatsApp } from '../../shared/whatsapp/formatting/markdownToWhatsApp.js';
import { splitMessage } from '../../shared/whatsapp/formatting/splitMessage.js';
import { graphError } from '../../shared/whatsapp/graphErrors.js';
import type { InboundContent, InboundMessage } from '../../shared/whatsapp/inboundMessage.js';
import { pause } from '../../shared/core/handoff.js';
import { readableText, textMessage, type OutboundMessage } from '../../shared/whatsapp/outboundMessage.js';
import { recordStaffEcho } from '../../shared/core/conversationHandoff.js';
import { processPush, type PushDeps } from './processPush.js';
import { oneAgentForEveryNumber } from '../../test/fakes/numberRoutes.js';
import { createNumberRoutes } from '../../shared/core/numberRoutes.js';

const settings = testCoreSettings();

function harness(overrides: Partial<CoreSettings> = {}) {
  let clock = Date.parse('2026-11-25T12:00:00Z');
  const agentCalls: AgentTurn[] = [];
  let agentFailures: Error[] = [];
  let agentLatencyMs = 0;
  let sessionCounter = 0;
  const deletedSessions: string[] = [];
  const agent: AgentClient = {
    async createSession() {
      return `session-${++sessionCounter}`;
    },
    async query(turn) {
      agentCalls.push(turn);
      if (agentLatencyMs) await new Promise((resolve) => setTimeout(resolve, agentLatencyMs));
      const failure = agentFailures.shift();
      if (failure) throw failure;
      return [{ kind: 'text', text: `Echo: ${turn.text}` }];
    },
    async deleteSession(_userId, sessionId) {
      deletedSessions.push(sessionId);
    },
  };
  const sends: (OutboundText & { message?: OutboundMessage })[] = [];
  const templates: OutboundTemplate[] = [];
  const reads: string[] = [];
  let sendFailures: Error[] = [];
  const whatsapp: WhatsAppClient = {
    async markReadWithTyping(_phoneNumberId, wamid) {
      reads.push(wamid);
    },
    async sendText({ phoneNumberId, to, text }) {
      return whatsapp.send({ phoneNumberId, to, message: textMessage(text) });
    },
    async sendTemplate(message) {
      const failure = sendFailures.shift();
      if (failure) throw failure;
      templates.push(message);
      return `wamid.template.${templates.length}`;
    },
    async send({ phoneNumberId, to, message }) {
      const failure = sendFailures.shift();
      if (failure) throw failure;
      sends.push({ phoneNumberId, to, text: readableText(message) ?? `[${message.type}]`, ...(message.type === 'text' ? {} : { message }) });
      return `wamid.out.${sends.length}`;
    },
    async downloadMedia(mediaId) {
      return { data: Buffer.from(`bytes of ${mediaId}`), mimeType: 'image/jpeg' };
    },
  };
  const media = createMemoryMedia();
  const ledger = createMemoryInboundLedger();
  const sessions = createMemorySessionStore();
  const outbound = createMemoryOutboundMessageStore();
  const optOuts = createMemoryOptOutStore();
  const held = createMemoryHeldReplyStore();
  const windows = createMemoryConversationWindowStore();
  const sleeps: number[] = [];
  const deps: PushDeps = {
    maxDeliveryAttempts: 5,
    bursts: createMemoryBurstBuffer(ledger.records),
    ledger,
    sessions,
    rateLimiter: createMemoryRateLimiter(),
    numbers: oneAgentForEveryNumber(agent),
    whatsapp,
    media,
    outbound,
    optOuts,
    held,
    windows,
    handoffs: createMemoryHandoffStore(),
    log: createLogger('test', 'silent'),
    settings: { ...settings, ...overrides },
    now: () => new Date(clock),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
  let wamidCounter = 0;
  const message = (content: InboundContent, extra: Partial<InboundMessage> = {}): InboundMessage => ({
    v: 1,
    wamid: `wamid.in.${++wamidCounter}`,
    userId: 'AR.1234567890',
    phone: '5491155550001',
    profileName: 'Ana',
    phoneNumberId: '123456789012345',
    timestamp: Math.floor(clock / 1000),
    content,
    ...extra,
  });
  const deliver = (m: InboundMessage, delivery: Partial<PushDelivery> = {}) =>
    processPush({ message: m, messageId: 'm1', attributes: {}, ...delivery }, deps);
  return {
    deps,
    /** The one agent every business number routes to here: a test may replace its methods. */
    agent,
    media,
    ledger,
    sessions,
    agentCalls,
    sends,
    templates,
    reads,
    sleeps,
    outbound,
    optOuts,
    held,
    windows,
    deletedSessions,
    message,
    deliver,
    text: (body: string, extra?: Partial<InboundMessage>) => message({ kind: 'text', text: body }, extra),
    failAgent: (...errors: Error[]) => (agentFailures = errors),
    failSends: (...errors: Error[]) => (sendFailures = errors),
    setAgentLatency: (ms: number) => (agentLatencyMs = ms),
    advance: (ms: number) => (clock += ms),
    /** Attributes as the webhook writes them, for a message it received `ms` before the harness's clock. */
    receivedAgo: (ms: number) => ({ receivedAt: new Date(clock - ms).toISOString() }),
    /** From now on, the JSON lines the worker logs. */
    captureLog() {
      const lines: Record<string, unknown>[] = [];
      const sink = new Writable({
        write(chunk, _encoding, done) {
          lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
          done();
        },
      });
      deps.log = createLogger('test', 'info', sink);
      return lines;
    },
  };
}

/** A Node timer can fire up to 1 ms before its delay by Date.now(): libuv starts it from the loop's cached whole-ms clock. */
const TIMER_EARLY_MS = 1;

const firstReplyLines = (lines: Record<string, unknown>[]) => lines.filter((line) => line.message === 'first reply chunk accepted');

describe('processPush: the reply-latency line (what the whatsapp_reply_latency metric reads)', () => {
  it('logs, once, the time from the webhook’s receipt to the first chunk Meta accepted, the agent’s share and the outcome', async () => {
    const h = harness({ maxReplyChars: 100 });
    const lines = h.captureLog();
    h.setAgentLatency(25);
    const m = h.text(`${'palabra '.repeat(30)}fin`);
    expect(await h.deliver(m, { attributes: h.receivedAgo(1500) })).toEqual({ ack: true, outcome: 'answered' });
    expect(h.sends.length).toBeGreaterThan(1);
    const [line, ...more] = firstReplyLines(lines);
    expect(more).toEqual([]);
    expect(line).toMatchObject({ outcome: 'answered', replyLatencyMs: 1500, attempt: 1, wamid: m.wamid });
    expect(line!.agentMs).toBeGreaterThanOrEqual(25 - TIMER_EARLY_MS);
  });

  it('after a failed send, logs it on the attempt whose first chunk went out, with the agent’s share from the first attempt', async () => {
    const h = harness();
    const lines = h.captureLog();
    h.setAgentLatency(25);
    const m = h.text('Hola');
    const attributes = h.receivedAgo(800);
    h.failSends(graphError(500, undefined));
    expect(await h.deliver(m, { attributes })).toEqual({ ack: false, outcome: 'retry' });
    expect(firstReplyLines(lines)).toEqual([]);
    h.advance(10_000);
    expect(await h.deliver(m, { attributes })).toEqual({ ack: true, outcome: 'answered' });
    const [line, ...more] = firstReplyLines(lines);
    expect(more).toEqual([]);
    expect(line).toMatchObject({ outcome: 'answered', replyLatencyMs: 10_800, attempt: 2 });
    expect(line!.agentMs).toBeGreaterThanOrEqual(25 - TIMER_EARLY_MS);
    expect(h.agentCalls).toHaveLength(1);
  });

  it('marks a fixed reply as such, without an agent share', async () => {
    const h = harness();
    const lines = h.captureLog();
    await h.deliver(h.message({ kind: 'unsupported', type: 'poll' }), { attributes: h.receivedAgo(300) });
    expect(firstReplyLines(lines)).toEqual([expect.objectContaining({ outcome: 'fixed_reply', replyLatencyMs: 300 })]);
    expect(firstReplyLines(lines)[0]).not.toHaveProperty('agentMs');
  });

  it('counts the apology as the first reply when nothing else reached the user', async () => {
    const h = harness();
    const lines = h.captureLog();
    const m = h.text('Hola');
    const attributes = h.receivedAgo(100);
    h.failAgent(...Array.from({ length: 5 }, () => new RetryableError('down', 'agent_unavailable')));
    for (let attempt = 1; attempt <= 5; attempt++) {
      h.advance(1000);
      await h.deliver(m, { deliveryAttempt: attempt, attributes });
    }
    expect(h.sends.map((s) => s.text)).toEqual(['Sorry!']);
    expect(firstReplyLines(lines)).toEqual([expect.objectContaining({ outcome: 'apology', replyLatencyMs: 5100, attempt: 5 })]);
  });

  it('leaves the latency out for a replayed dead letter: its user already had the apology', async () => {
    const h = harness();
    const lines = h.captureLog();
    const m = h.text('Hola');
    h.failAgent(new RetryableError('down', 'agent_unavailable'));
    await h.deliver(m, { deliveryAttempt: 5, attributes: h.receivedAgo(100) });
    await h.deliver(m, { attributes: { ...h.receivedAgo(100), replayId: 'r1' } });
    expect(firstReplyLines(lines).map((line) => [line.outcome, line.replyLatencyMs])).toEqual([
      ['apology', 100],
      ['answered', undefined],
    ]);
  });
});

describe('processPush: the delivery state machine, from a decoded push to the reply', () => {
  it('answers a text: read receipt, one agent call in a new session, one reply, record answered', async () => {
    const h = harness();
    const m = h.text('Hola');
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'answered' });
    expect(h.reads).toEqual([m.wamid]);
    expect(h.agentCalls).toEqual([{ userId: 'AR.1234567890', sessionId: 'session-1', text: 'Hola' }]);
    expect(h.sends).toEqual([
      { phoneNumberId: '123456789012345', to: { userId: 'AR.1234567890', phone: '5491155550001' }, text: 'Echo: Hola' },
    ]);
    expect(await h.ledger.get(m.wamid)).toMatchObject({
      state: 'answered',
      replyChunks: [{ kind: 'message', message: textMessage('Echo: Hola') }],
      sentChunks: [{ index: 0, graphMessageId: 'wamid.out.1' }],
    });
    expect(await h.sessions.get({ phoneNumberId: '123456789012345', userId: 'AR.1234567890' })).toMatchObject({ agentSessionId: 'session-1', messageCount: 1 });
  });

  it('does nothing for a second delivery of an answered message', async () => {
    const h = harness();
    const m = h.text('Hola');
    await h.deliver(m);
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'duplicate' });
    expect(h.agentCalls).toHaveLength(1);
    expect(h.sends).toHaveLength(1);
  });

  it('refuses a delivery while another one holds the lease, and takes over once it has expired', async () => {
    const h = harness();
    const m = h.text('Hola');
    await h.ledger.claim({ wamid: m.wamid, userId: m.userId, now: h.deps.now!(), leaseMs: 60_000, retentionMs: 1e9 });
    expect(await h.deliver(m)).toEqual({ ack: false, outcome: 'busy' });
    expect(h.agentCalls).toHaveLength(0);
    h.advance(61_000);
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'answered' });
  });

  it('after a failed send, retries without asking the agent again', async () => {
    const h = harness();
    const m = h.text('Hola');
    h.failSends(graphError(500, undefined), graphError(503, { error: { code: 2 } }));
    expect(await h.deliver(m)).toEqual({ ack: false, outcome: 'retry' });
    expect(await h.deliver(m)).toEqual({ ack: false, outcome: 'retry' });
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'answered' });
    expect(h.agentCalls).toHaveLength(1);
    expect(h.sends.map((s) => s.text)).toEqual(['Echo: Hola']);
  });

  it('resumes a long reply at the first chunk that did not go out', async () => {
    const h = harness({ maxReplyChars: 100 });
    const paragraph = (n: number) => `Paragraph ${n}: ${'word '.repeat(15).trim()}.`;
    const m = h.text([1, 2, 3].map(paragraph).join('\n\n'));
    const expected = splitMessage(markdownToWhatsApp(`Echo: ${m.content.kind === 'text' ? m.content.text : ''}`), 100);
    expect(expected.length).toBeGreaterThanOrEqual(3);
    let calls = 0;
    const send = h.deps.whatsapp.send.bind(h.deps.whatsapp);
    h.deps.whatsapp.send = async (message) => {
      calls += 1;
      if (calls === 2) throw graphError(500, undefined);
      return send(message);
    };
    expect(await h.deliver(m)).toEqual({ ack: false, outcome: 'retry' });
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'answered' });
    expect(h.sends.map((s) => s.text)).toEqual(expected);
    expect(h.agentCalls).toHaveLength(1);
    expect((await h.ledger.get(m.wamid))?.sentChunks.map((c) => c.index)).toEqual(expected.map((_, i) => i));
  });

  it('sends the agent’s tool calls as WhatsApp messages, in its order, a hand-off last and once', async () => {
    const h = harness();
    h.agent.query = async () => [
      { kind: 'text', text: 'Our sizes:' },
      { kind: 'tool_call', name: 'handoff_to_human', args: { reason: 'asked for a person' } },
      { kind: 'tool_call', name: 'whatsapp_buttons', args: { text: 'Which one?', options: ['S', 'M'] } },
      { kind: 'tool_call', name: 'whatsapp_location', args: { latitude: 999, longitude: 0, name: 'Shop' } },
    ];
    const m = h.text('sizes');
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'answered' });
    expect(h.sends.map((sent) => [sent.message?.type ?? 'text', sent.text])).toEqual([
      ['text', 'Our sizes:'],
      ['interactive', 'Which one?'],
      ['text', 'Shop'],
    ]);
    const record = await h.ledger.get(m.wamid);
    expect(record?.replyChunks?.map((chunk) => chunk.kind)).toEqual(['message', 'message', 'message', 'handoff']);
    expect(record?.sentChunks).toEqual([
      { index: 0, graphMessageId: 'wamid.out.1' },
      { index: 1, graphMessageId: 'wamid.out.2' },
      { index: 2, graphMessageId: 'wamid.out.3' },
      { index: 3 },
    ]);
    expect(record?.state).toBe('answered');
  });

  it('still sends a record stored before replies were rendered (plain replyText)', async () => {
    const h = harness();
    const m = h.text('Hola');
    h.failSends(graphError(500, undefined));
    expect(await h.deliver(m)).toEqual({ ack: false, outcome: 'retry' });
    const { replyChunks: _rendered, ...stored } = h.ledger.records.get(m.wamid)!;
    h.ledger.records.set(m.wamid, { ...stored, replyText: 'An **old** answer' });
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'answered' });
    expect(h.sends.map((sent) => sent.text)).toEqual(['An *old* answer']);
    expect(h.agentCalls).toHaveLength(1);
  });

  it('tells the agent which option of which message the user tapped', async () => {
    const h = harness();
    h.agent.query = async () => [{ kind: 'tool_call', name: 'whatsapp_buttons', args: { text: 'Which size?', options: ['Small', 'Large'] } }];
    await h.deliver(h.text('sizes'));
    const tap = h.message(
      { kind: 'interactive', replyType: 'button_reply', id: 'large', title: 'Large' },
      { contextWamid: 'wamid.out.1' },
    );
    const seen: string[] = [];
    h.agent.query = async (turn) => {
      seen.push(turn.text);
      return [{ kind: 'text', text: 'Large it is.' }];
    };
    expect(await h.deliver(tap)).toEqual({ ack: true, outcome: 'answered' });
    expect(seen).toEqual(['[Replying to your earlier message: "Which size?"]\nLarge\n[option id: large]']);
  });

  it('fails permanently on Graph 190: acknowledged, record failed, no retry and no apology', async () => {
    const h = harness();
    const m = h.text('Hola');
    h.failSends(graphError(401, { error: { code: 190, message: 'token expired' } }));
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'failed' });
    expect(await h.ledger.get(m.wamid)).toMatchObject({ state: 'failed', failureReason: 'graph_190' });
    expect(h.sends).toHaveLength(0);
  });

  it('on the last attempt, apologises once and refuses so the message dead-letters', async () => {
    const h = harness();
    const m = h.text('Hola');
    const unavailable = () => new RetryableError('agent down', 'agent_unavailable');
    h.failAgent(unavailable(), unavailable(), unavailable(), unavailable(), unavailable(), unavailable());
    for (let attempt = 1; attempt < 5; attempt++) {
      expect(await h.deliver(m, { deliveryAttempt: attempt })).toEqual({ ack: false, outcome: 'retry' });
    }
    expect(h.sends).toHaveLength(0);
    expect(await h.deliver(m, { deliveryAttempt: 5 })).toEqual({ ack: false, outcome: 'dead-letter' });
    expect(h.sends.map((s) => s.text)).toEqual(['Sorry!']);
    expect(await h.ledger.get(m.wamid)).toMatchObject({ state: 'failed', exhausted: true, apologySent: true });
    expect(await h.windows.get(m.phoneNumberId, m.userId)).toBeDefined();
    // A straggling delivery keeps refusing (so it dead-letters) and does not apologise again.
    expect(await h.deliver(m, { deliveryAttempt: 6 })).toEqual({ ack: false, outcome: 'dead-letter' });
    expect(h.sends).toHaveLength(1);
  });

  it('counts attempts in the record when Pub/Sub sends no deliveryAttempt', async () => {
    const h = harness();
    const m = h.text('Hola');
    h.failAgent(...Array.from({ length: 5 }, () => new RetryableError('down', 'agent_unavailable')));
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push((await h.deliver(m)).outcome);
    expect(outcomes).toEqual(['retry', 'retry', 'retry', 'retry', 'dead-letter']);
  });

  it('dead-letters the message itself when Pub/Sub reports no delivery attempts', async () => {
    const h = harness();
    const published: string[] = [];
    h.deps.deadLetters = {
      publish: async (delivery, reason) => {
        published.push(`${delivery.message.wamid} ${reason}`);
      },
    };
    const m = h.text('Hola');
    h.failAgent(...Array.from({ length: 5 }, () => new RetryableError('down', 'agent_unavailable')));
    const outcomes = [];
    for (let i = 0; i < 5; i++) outcomes.push(await h.deliver(m));
    expect(outcomes.at(-1)).toEqual({ ack: true, outcome: 'dead-letter' });
    expect(published).toEqual([`${m.wamid} agent_unavailable`]);
    // With deliveryAttempt present, Pub/Sub's own policy does it: refuse and publish nothing.
    const other = h.text('Hola again');
    h.failAgent(new RetryableError('down', 'agent_unavailable'));
    expect(await h.deliver(other, { deliveryAttempt: 5 })).toEqual({ ack: false, outcome: 'dead-letter' });
    expect(published).toHaveLength(1);
  });

  it('replays a dead letter once, keeping the apology from being sent twice', async () => {
    const h = harness();
    const m = h.text('Hola');
    h.failAgent(new RetryableError('down', 'agent_unavailable'));
    await h.deliver(m, { deliveryAttempt: 5 });
    expect(await h.deliver(m, { attributes: { replayId: 'r1' } })).toEqual({ ack: true, outcome: 'answered' });
    expect(h.sends.map((s) => s.text)).toEqual(['Sorry!', 'Echo: Hola']);
    expect(await h.deliver(m, { attributes: { replayId: 'r2' } })).toEqual({ ack: true, outcome: 'duplicate' });
  });

  it('apologises for a permanent agent failure and acknowledges it', async () => {
    const h = harness();
    h.failAgent(new PermanentError('bad request', 'agent_grpc_3'));
    const m = h.text('Hola');
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'failed' });
    expect(h.sends.map((s) => s.text)).toEqual(['Sorry!']);
    // The user wrote all the same: the window for proactive messages is open.
    expect(await h.windows.get(m.phoneNumberId, m.userId)).toMatchObject({ lastUserMessageAt: new Date(m.timestamp * 1000) });
  });

  it('starts a new agent session when Agent Engine says the old one is gone, and retries once', async () => {
    const h = harness();
    await h.deliver(h.text('one'));
    h.failAgent(new SessionNotFoundError('Session not found'));
    await h.deliver(h.text('two'));
    expect(h.agentCalls.map((c) => c.sessionId)).toEqual(['session-1', 'session-1', 'session-2']);
    expect((await h.sessions.get({ phoneNumberId: '123456789012345', userId: 'AR.1234567890' }))?.agentSessionId).toBe('session-2');
  });

  it('replaces a session that expired from inactivity, and moves expiresAt on each message', async () => {
    const h = harness();
    await h.deliver(h.text('one'));
    const first = await h.sessions.get({ phoneNumberId: '123456789012345', userId: 'AR.1234567890' });
    h.advance(3600_000);
    await h.deliver(h.text('two'));
    const second = await h.sessions.get({ phoneNumberId: '123456789012345', userId: 'AR.1234567890' });
    expect(second!.expiresAt.getTime() - first!.expiresAt.getTime()).toBe(3600_000);
    h.advance(25 * 3600_000);
    await h.deliver(h.text('three'));
    expect(h.agentCalls.map((c) => c.sessionId)).toEqual(['session-1', 'session-1', 'session-2']);
  });

  it('resets the conversation on a reset word without calling the agent', async () => {
    const h = harness();
    await h.deliver(h.text('hi'));
    expect(await h.deliver(h.text(' Reiniciar '))).toEqual({ ack: true, outcome: 'answered' });
    expect(h.sends.map((s) => s.text)).toEqual(['Echo: hi', 'Fresh start']);
    expect(h.agentCalls).toHaveLength(1);
    expect(h.deletedSessions).toEqual(['session-1']);
    expect((await h.sessions.get({ phoneNumberId: '123456789012345', userId: 'AR.1234567890' }))?.agentSessionId).toBe('session-2');
  });

  it('sends the welcome text with the first answer only', async () => {
    const h = harness({ welcomeText: 'Welcome to Example Co!' });
    await h.deliver(h.text('one'));
    await h.deliver(h.text('two'));
    expect(h.sends.map((s) => s.text)).toEqual(['Welcome to Example Co!\n\nEcho: one', 'Echo: two']);
  });

  it.each<[string, InboundContent, string | undefined]>([
    ['a reaction', { kind: 'reaction', reactedWamid: 'wamid.x', emoji: '👍' }, undefined],
    ['a system notice', { kind: 'system', systemType: 'user_changed_number' }, undefined],
    ['Meta-unsupported (an edit)', { kind: 'unsupported', type: 'edit', fromMeta: true }, undefined],
    ['a type the bridge cannot read', { kind: 'unsupported', type: 'order' }, 'Text only please'],
    ['an image while media is off', { kind: 'media', mediaType: 'image', mediaId: 'm1', caption: 'look' }, 'No media please'],
  ])('answers %s without the agent', async (_name, content, reply) => {
    const h = harness();
    expect((await h.deliver(h.message(content))).ack).toBe(true);
    expect(h.agentCalls).toHaveLength(0);
    expect(h.sends.map((s) => s.text)).toEqual(reply ? [reply] : []);
  });

  it('passes an image with its caption to the agent as its stored copy when media is on', async () => {
    const h = harness({ agentAcceptsMedia: true });
    const image = h.message({ kind: 'media', mediaType: 'image', mediaId: 'm42', mimeType: 'image/jpeg', caption: 'Is this it?' });
    await h.deliver(image);
    expect(h.media.prepared).toEqual([{ wamid: image.wamid, mediaId: 'm42', mediaType: 'image', mimeType: 'image/jpeg' }]);
    expect(h.agentCalls[0]).toMatchObject({
      text: 'Is this it?',
      media: [{ kind: 'file', fileUri: `gs://test-media/${image.wamid}`, mimeType: 'image/jpeg' }],
    });
  });

  it('tells the user an attachment is too large, without the agent, and settles the message', async () => {
    const h = harness({ agentAcceptsMedia: true });
    h.media.tooLarge.add('huge');
    const video = h.message({ kind: 'media', mediaType: 'video', mediaId: 'huge', mimeType: 'video/mp4' });
    expect((await h.deliver(video)).ack).toBe(true);
    expect(h.agentCalls).toHaveLength(0);
    expect(h.sends.map((s) => s.text)).toEqual(['Too big for me']);
    expect(h.ledger.records.get(video.wamid)?.state).toBe('answered');
    // Meta retries the webhook: the same message is not answered twice.
    await h.deliver(video);
    expect(h.sends).toHaveLength(1);
  });

  it.each<[string, InboundContent, RegExp]>([
    ['a location', { kind: 'location', latitude: 51.5, longitude: -0.12, name: 'Office' }, /location: Office \(latitude 51.5, longitude -0.12\)/],
    ['a button tap', { kind: 'interactive', replyType: 'button_reply', id: 'confirm', title: 'Confirm' }, /^Confirm\n\[option id: confirm\]$/],
    [
      'a list row',
      { kind: 'interactive', replyType: 'list_reply', id: 'tue', title: 'Tuesday', description: 'From 9:00' },
      /^Tuesday\n\[option id: tue\]$/,
    ],
    ['a template quick reply', { kind: 'button', payload: 'P', text: 'Yes please' }, /^Yes please\n\[option id: P\]$/],
    ['a template quick reply without a payload', { kind: 'button', text: 'Yes please' }, /^Yes please$/],
    ['a contact card', { kind: 'contacts', contacts: [{ name: 'Bo', phones: ['+1 555'] }] }, /contact cards: Bo \+1 555/],
  ])('turns %s into text the agent understands', async (_name, content, expected) => {
    const h = harness();
    await h.deliver(h.message(content));
    expect(h.agentCalls[0]?.text).toMatch(expected);
  });

  it('tells the agent which of its messages the user is replying to', async () => {
    const h = harness();
    await h.deliver(h.text('What times do you open?'));
    await h.deliver(h.text('And on Sunday?', { contextWamid: 'wamid.out.1' }));
    expect(h.agentCalls[1]?.text).toBe('[Replying to your earlier message: "Echo: What times do you open?"]\nAnd on Sunday?');
  });

  it('never quotes a reply that went to another user, whatever context id the message names', async () => {
    const h = harness();
    await h.deliver(h.text('My account number is 4242'));
    await h.deliver(h.text('What did you tell them?', { userId: 'GB.999', phone: '447700900123', contextWamid: 'wamid.out.1' }));
    expect(h.agentCalls[1]).toMatchObject({ userId: 'GB.999', text: 'What did you tell them?' });
  });

  it('limits agent calls per user per minute, with one slow-down reply per window', async () => {
    const h = harness();
    for (let i = 0; i < 13; i++) await h.deliver(h.text(`m${i}`));
    await h.deliver(h.text('other user', { userId: 'GB.999', phone: '447700900123' }));
    expect(h.agentCalls.filter((c) => c.userId === 'AR.1234567890')).toHaveLength(10);
    expect(h.sends.filter((s) => s.text === 'Slow down')).toHaveLength(1);
    expect(h.agentCalls.at(-1)?.userId).toBe('GB.999');
    h.advance(60_000);
    await h.deliver(h.text('later'));
    expect(h.agentCalls.at(-1)?.text).toBe('later');
  });

  it('counts fixed replies (unsupported type, media not accepted) against the same limit as agent turns', async () => {
    const h = harness({ rateLimitPerMinute: 2 });
    await h.deliver(h.message({ kind: 'unsupported', type: 'sticker', fromMeta: false }));
    await h.deliver(h.message({ kind: 'media', mediaType: 'image', mediaId: 'media-1' }));
    await h.deliver(h.message({ kind: 'unsupported', type: 'sticker', fromMeta: false }));
    await h.deliver(h.message({ kind: 'media', mediaType: 'image', mediaId: 'media-2' }));
    await h.deliver(h.text('Hola'));
    expect(h.sends.map((s) => s.text)).toEqual(['Text only please', 'No media please', 'Slow down']);
    expect(h.agentCalls).toHaveLength(0);
    h.advance(60_000);
    await h.deliver(h.message({ kind: 'unsupported', type: 'sticker', fromMeta: false }));
    expect(h.sends.at(-1)?.text).toBe('Text only please');
  });

  it('counts a message once against the rate limit however often it is retried', async () => {
    const h = harness({ rateLimitPerMinute: 2 });
    const m = h.text('flaky');
    h.failAgent(...Array.from({ length: 3 }, () => new RetryableError('down', 'agent_unavailable')));
    for (let i = 0; i < 4; i++) await h.deliver(m);
    expect(h.sends.map((s) => s.text)).toEqual(['Echo: flaky']);
    expect(h.agentCalls).toHaveLength(4);
  });

  it('holds a reply that would fall outside the 24-hour window and sends the template once', async () => {
    const h = harness({ reengageTemplate: { name: 'welcome_back', language: 'es' } });
    const m = h.text('old question');
    h.advance(25 * 3600_000);
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'held' });
    expect(h.sends).toHaveLength(0);
    expect(h.templates).toMatchObject([{ to: { phone: '5491155550001' }, template: { name: 'welcome_back', language: 'es' } }]);
    expect(await h.ledger.get(m.wamid)).toMatchObject({ state: 'answered', replyChunks: [{ kind: 'message', message: textMessage('Echo: old question') }] });
    const held = await h.held.get(m.phoneNumberId, m.userId, new Date(Date.now() + 3600_000 * 1000));
    expect(held).toBeUndefined(); // expired far in the future
    const live = [...h.held.records.values()][0]!;
    expect(live.replies.map((r) => r.text)).toEqual(['Echo: old question']);
    expect(live.templateWamid).toBe('wamid.template.1');

    // A second late reply joins the hold without a second template.
    const other = h.text('another old one', { timestamp: m.timestamp });
    expect(await h.deliver(other)).toEqual({ ack: true, outcome: 'held' });
    expect(h.templates).toHaveLength(1);
    expect([...h.held.records.values()][0]!.replies.map((r) => r.text)).toEqual(['Echo: old question', 'Echo: another old one']);
  });

  it('treats Graph 131047 as the closed window: holds the reply, then delivers it first, once, when the user writes', async () => {
    const h = harness({ reengageTemplate: { name: 'welcome_back', language: 'es' } });
    const m = h.text('Hola');
    h.failSends(graphError(400, { error: { code: 131047 } }));
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'held' });
    expect(h.templates).toHaveLength(1);
    expect(h.sends).toHaveLength(0);

    const back = h.text('I am back');
    expect(await h.deliver(back)).toEqual({ ack: true, outcome: 'answered' });
    expect(h.sends.map((s) => s.text)).toEqual(['Echo: Hola', 'Echo: I am back']);
    expect(h.held.records.size).toBe(0);
    // Redelivery of either message sends nothing more.
    await h.deliver(back);
    await h.deliver(m);
    expect(h.sends).toHaveLength(2);
    expect(h.templates).toHaveLength(1);
    expect([...h.outbound.records.values()].map((r) => r.kind).sort()).toEqual(['held-reply', 'reply', 'template']);
  });

  it('holds the reply all the same when no template is configured', async () => {
    const h = harness();
    const m = h.text('Hola');
    h.advance(25 * 3600_000);
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'held' });
    expect(h.templates).toHaveLength(0);
    expect(h.held.records.size).toBe(1);
  });

  it('STOP: one confirmation, no agent turn, then silence (no receipt, no reply, no apology) until START', async () => {
    const h = harness();
    const stop = h.text(' Stop ');
    expect(await h.deliver(stop)).toEqual({ ack: true, outcome: 'answered' });
    expect(h.sends.map((s) => s.text)).toEqual(['You are unsubscribed']);
    expect(h.agentCalls).toHaveLength(0);
    expect(h.reads).toHaveLength(0);
    expect(await h.optOuts.get(stop.phoneNumberId, stop.userId)).toMatchObject({ command: 'Stop' });

    expect(await h.deliver(h.text('hello?'))).toEqual({ ack: true, outcome: 'ignored' });
    expect(await h.deliver(h.text('STOP'))).toEqual({ ack: true, outcome: 'ignored' });
    h.failAgent(new PermanentError('bad', 'agent_bad_request'));
    expect(await h.deliver(h.text('still there?'))).toEqual({ ack: true, outcome: 'ignored' });
    expect(h.sends).toHaveLength(1);
    expect(h.reads).toHaveLength(0);
    expect(h.agentCalls).toHaveLength(0);

    expect(await h.deliver(h.text('START'))).toEqual({ ack: true, outcome: 'answered' });
    expect(h.sends.map((s) => s.text)).toEqual(['You are unsubscribed', 'Welcome back']);
    expect(h.agentCalls).toHaveLength(0);
    expect(await h.optOuts.get(stop.phoneNumberId, stop.userId)).toBeUndefined();

    h.failAgent();
    expect(await h.deliver(h.text('hola'))).toEqual({ ack: true, outcome: 'answered' });
    expect(h.sends.at(-1)?.text).toBe('Echo: hola');
  });

  it('STOP whose confirmation failed to send is confirmed on the retry, once', async () => {
    const h = harness();
    const stop = h.text('BAJA');
    h.failSends(new RetryableError('down', 'graph_http_503'));
    expect(await h.deliver(stop)).toEqual({ ack: false, outcome: 'retry' });
    expect(await h.optOuts.get(stop.phoneNumberId, stop.userId)).toBeDefined();
    expect(await h.deliver(stop)).toEqual({ ack: true, outcome: 'answered' });
    expect(await h.deliver(stop)).toEqual({ ack: true, outcome: 'duplicate' });
    expect(h.sends.map((s) => s.text)).toEqual(['You are unsubscribed']);
  });

  it('STOP whose stored confirmation this version cannot read (another deploy wrote it) is confirmed on the retry, once', async () => {
    const h = harness();
    const stop = h.text('BAJA');
    h.failSends(new RetryableError('down', 'graph_http_503'));
    expect(await h.deliver(stop)).toEqual({ ack: false, outcome: 'retry' });
    const { replyChunks: _stored, ...left } = h.ledger.records.get(stop.wamid)!;
    h.ledger.records.set(stop.wamid, { ...left, unreadableReply: 'replyChunks.0.kind: unknown' });
    expect(await h.deliver(stop)).toEqual({ ack: true, outcome: 'answered' });
    expect(await h.deliver(stop)).toEqual({ ack: true, outcome: 'duplicate' });
    expect(h.sends.map((s) => s.text)).toEqual(['You are unsubscribed']);
    expect(await h.optOuts.get(stop.phoneNumberId, stop.userId)).toMatchObject({ command: 'BAJA' });
    expect(h.agentCalls).toHaveLength(0);
  });

  it('STOP drops held replies and blocks the template', async () => {
    const h = harness({ reengageTemplate: { name: 'welcome_back', language: 'es' } });
    h.failSends(graphError(400, { error: { code: 131047 } }));
    await h.deliver(h.text('Hola'));
    expect(h.held.records.size).toBe(1);
    await h.deliver(h.text('stop'));
    expect(h.held.records.size).toBe(0);
    expect(h.sends.map((s) => s.text)).toEqual(['You are unsubscribed']);
  });

  it('notes when the user last wrote to the business number (the window for proactive messages)', async () => {
    const h = harness();
    const m = h.text('hi');
    await h.deliver(m);
    expect(await h.windows.get(m.phoneNumberId, m.userId)).toMatchObject({
      phone: '5491155550001',
      lastUserMessageAt: new Date(m.timestamp * 1000),
    });
    expect([...h.outbound.records.values()]).toMatchObject([{ kind: 'reply', inReplyTo: m.wamid, chunkIndex: 0, text: 'Echo: hi' }]);
  });

  it('honours a short Retry-After inside the attempt', async () => {
    const h = harness();
    h.failSends(graphError(429, { error: { code: 130429 } }, '2'));
    expect(await h.deliver(h.text('Hola'))).toEqual({ ack: true, outcome: 'answered' });
    expect(h.sleeps).toEqual([2000]);
    expect(h.sends).toHaveLength(1);
  });

  it('leaves a long Retry-After to Pub/Sub’s backoff', async () => {
    const h = harness();
    h.failSends(graphError(429, { error: { code: 4 } }, '3600'));
    expect(await h.deliver(h.text('Hola'))).toEqual({ ack: false, outcome: 'retry' });
    expect(h.sleeps).toEqual([]);
  });

  it('refreshes the typing indicator while a long agent turn runs', async () => {
    const h = harness({ typingRefreshMs: 20 });
    const m = h.text('think hard');
    const readsOf = () => h.reads.filter((w) => w === m.wamid).length;
    // The agent answers once it has seen the indicator refreshed three times (or gives up after 10 s).
    const { query } = h.agent;
    h.agent.query = async (turn) => {
      for (const giveUpAt = Date.now() + 10_000; readsOf() < 4 && Date.now() < giveUpAt; ) await new Promise((resolve) => setTimeout(resolve, 5));
      return query(turn);
    };
    await h.deliver(m);
    expect(readsOf()).toBeGreaterThanOrEqual(4);
  });

  it('does not fail the message when the read receipt fails', async () => {
    const h = harness();
    h.deps.whatsapp.markReadWithTyping = async () => {
      throw graphError(500, undefined);
    };
    expect(await h.deliver(h.text('Hola'))).toEqual({ ack: true, outcome: 'answered' });
  });
});

describe('processPush: a person has the conversation (hand-off)', () => {
  const pauseFor = async (h: ReturnType<typeof harness>, minutes: number) => {
    const key = { phoneNumberId: '123456789012345', userId: 'AR.1234567890' };
    const now = h.deps.now!();
    await h.deps.handoffs.pause(key, (current) => pause(current, { by: 'admin', minutes }, now, { timeoutMs: 3_600_000 }), now);
  };

  it('while paused: every message is acknowledged and kept once, with no agent call and no Graph call at all (not for a reset or a sticker either)', async () => {
    const h = harness();
    await pauseFor(h, 30);
    const [question, reset, sticker] = [h.text('¿hola?'), h.text('/reset'), h.message({ kind: 'unsupported', type: 'poll' })];
    for (const m of [question, question, reset, sticker]) expect((await h.deliver(m)).ack).toBe(true);
    expect(h.agentCalls).toEqual([]);
    expect(h.sends).toEqual([]);
    expect(h.reads).toEqual([]);
    expect(h.ledger.records.get(question.wamid)?.state).toBe('answered');
    const record = await h.deps.handoffs.get({ phoneNumberId: '123456789012345', userId: 'AR.1234567890' }, h.deps.now!());
    expect(record?.entries.map((e) => e.text)).toEqual(['¿hola?', '/reset', '[a poll message]']);
    // The reset did not reset anything: no new session was asked for.
    expect(h.deletedSessions).toEqual([]);
  });

  it('a STOP while paused is recorded without a confirmation', async () => {
    const h = harness();
    await pauseFor(h, 30);
    await h.deliver(h.text('STOP'));
    expect(h.sends).toEqual([]);
    expect(await h.optOuts.get('123456789012345', 'AR.1234567890')).toMatchObject({ command: 'STOP' });
  });

  it('after the pause: the first agent turn carries the transcript before the user’s words, once; the user is answered again', async () => {
    const h = harness();
    await pauseFor(h, 30);
    await h.deliver(h.text('quiero hablar con alguien'));
    h.advance(31 * 60_000);
    expect(await h.deliver(h.text('¿siguen ahí?'))).toEqual({ ack: true, outcome: 'answered' });
    expect(h.agentCalls).toHaveLength(1);
    expect(h.agentCalls[0]!.text).toMatch(/^\[While you were paused[^\n]*\]\nUser: quiero hablar con alguien\n\[End of the hand-off[^\n]*\]\n\n¿siguen ahí\?$/);
    expect(h.reads).toHaveLength(1);
    await h.deliver(h.text('gracias'));
    expect(h.agentCalls[1]!.text).toBe('gracias');
  });

  it('the agent’s handoff_to_human pauses after the turn’s messages are sent, once; the next message gets nothing', async () => {
    const h = harness();
    h.agent.query = async () => [
      { kind: 'text', text: 'Te paso con una persona.' },
      { kind: 'tool_call', name: 'handoff_to_human', args: { reason: 'refund' } },
    ];
    const m = h.text('quiero un reembolso');
    const key = { phoneNumberId: '123456789012345', userId: 'AR.1234567890' };
    // The turn's message fails to go out: no pause yet, the user must get it first.
    h.failSends(graphError(500, undefined));
    expect(await h.deliver(m)).toEqual({ ack: false, outcome: 'retry' });
    expect(await h.deps.handoffs.get(key, h.deps.now!())).toBeUndefined();
    h.advance(1000);
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'answered' });
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'duplicate' });
    expect(h.sends.map((send) => send.text)).toEqual(['Te paso con una persona.']);
    expect(await h.deps.handoffs.get(key, h.deps.now!())).toMatchObject({ by: 'agent', reason: 'refund', since: h.deps.now!() });
    await h.deliver(h.text('¿hola?'));
    expect(h.sends).toHaveLength(1);
    expect(h.reads).toHaveLength(1);
  });

  it('staff who take over while the agent answers get the conversation: the stored reply is not sent, and no apology ever', async () => {
    const h = harness();
    const { query } = h.agent;
    h.agent.query = async (turn) => {
      await pauseFor(h, 30);
      return query(turn);
    };
    const m = h.text('¿me ayudan?');
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'ignored' });
    expect(h.agentCalls).toHaveLength(1);
    expect(h.sends).toEqual([]);
    expect(h.ledger.records.get(m.wamid)).toMatchObject({ state: 'answered', replyChunks: [expect.anything()] });

    // A paused user's last failed attempt sends no apology either.
    const next = h.text('¿hola?');
    const markAnswered = h.ledger.markAnswered;
    h.ledger.markAnswered = async () => {
      throw new RetryableError('Firestore unavailable', 'firestore_unavailable');
    };
    expect(await h.deliver(next, { deliveryAttempt: 5 })).toMatchObject({ outcome: 'dead-letter' });
    h.ledger.markAnswered = markAnswered;
    expect(h.sends).toEqual([]);
  });

  it('the agent’s hand-off takes effect even when its reply is held because the window closed', async () => {
    const h = harness();
    h.agent.query = async () => [
      { kind: 'text', text: 'Te paso con una persona.' },
      { kind: 'tool_call', name: 'handoff_to_human', args: {} },
    ];
    const m = h.text('old question');
    h.advance(25 * 3600_000);
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'held' });
    expect(await h.deps.handoffs.get({ phoneNumberId: '123456789012345', userId: 'AR.1234567890' }, h.deps.now!())).toMatchObject({ by: 'agent' });
  });

  it('keeps the transcript for the next agent turn when the first message after the pause gets a fixed reply', async () => {
    const h = harness();
    await pauseFor(h, 30);
    await h.deliver(h.text('hola'));
    h.advance(31 * 60_000);
    await h.deliver(h.message({ kind: 'unsupported', type: 'order' }));
    expect(h.agentCalls).toEqual([]);
    await h.deliver(h.text('¿y ahora?'));
    expect(h.agentCalls[0]!.text).toContain('User: hola\n');
  });
});

describe('processPush: several business numbers, each with its agent and texts (AGENT_ENGINE_BY_NUMBER, TEXTS_BY_NUMBER)', () => {
  const SUPPORT = '111111111111111';
  const SALES = '222222222222222';
  const SUPPORT_ENGINE = 'projects/p/locations/europe-west1/reasoningEngines/soporte';
  const SALES_ENGINE = 'projects/p/locations/us-east4/reasoningEngines/sales';

  /** The harness with two recording agents, one per number; the deployment-wide agent only when `withDefault`. */
  function twoNumbers(overrides: Partial<CoreSettings> = {}, withDefault = false) {
    const h = harness({ welcomeText: 'Welcome!', ...overrides });
    const calls: { engine: string; turn: AgentTurn }[] = [];
    const sessionsMade: { engine: string; userId: string }[] = [];
    const failing = new Set<string>();
    const agentOf = (engine: string): AgentClient => ({
      async createSession(userId) {
        sessionsMade.push({ engine, userId });
        return `${engine.split('/').at(-1)}-session-${sessionsMade.length}`;
      },
      async query(turn) {
        calls.push({ engine, turn });
        if (failing.has(engine)) throw new RetryableError('agent down', 'agent_unavailable');
        return [{ kind: 'text', text: `${engine.split('/').at(-1)}: ${turn.text}` }];
      },
      async deleteSession() {},
    });
    const agents = new Map([SUPPORT_ENGINE, SALES_ENGINE].map((engine) => [engine, agentOf(engine)]));
    h.deps.numbers = createNumberRoutes({
      defaultEngine: withDefault ? SALES_ENGINE : undefined,
      enginesByNumber: { [SUPPORT]: SUPPORT_ENGINE, ...(withDefault ? {} : { [SALES]: SALES_ENGINE }) },
      settingsByNumber: {
        [SUPPORT]: {
          welcomeText: '¡Hola! Soy el asistente.',
          apologyText: 'Lo siento.',
          slowDownText: 'Más despacio, por favor.',
          optOutCommands: ['sair'],
          optOutConfirmText: 'No te escribiremos más.',
          resetCommands: ['/recomeçar'],
          resetConfirmText: 'Empezamos de nuevo.',
        },
      },
      agentFor: (engine) => agents.get(engine)!,
    });
    return { ...h, calls, sessionsMade, failing };
  }

  it('one user, two numbers: two sessions on two agents, each number\'s welcome, each reply from the number written to', async () => {
    for (const withDefault of [false, true]) {
      const h = twoNumbers({}, withDefault);
      expect(await h.deliver(h.text('hola', { phoneNumberId: SUPPORT }))).toEqual({ ack: true, outcome: 'answered' });
      expect(await h.deliver(h.text('hi', { phoneNumberId: SALES }))).toEqual({ ack: true, outcome: 'answered' });
      expect(await h.deliver(h.text('otra', { phoneNumberId: SUPPORT }))).toEqual({ ack: true, outcome: 'answered' });

      expect(h.calls.map(({ engine, turn }) => [engine, turn.text, turn.sessionId])).toEqual([
        [SUPPORT_ENGINE, 'hola', 'soporte-session-1'],
        [SALES_ENGINE, 'hi', 'sales-session-2'],
        [SUPPORT_ENGINE, 'otra', 'soporte-session-1'],
      ]);
      const user = 'AR.1234567890';
      expect(await h.sessions.get({ phoneNumberId: SUPPORT, userId: user })).toMatchObject({ phoneNumberId: SUPPORT, agentSessionId: 'soporte-session-1', messageCount: 2 });
      expect(await h.sessions.get({ phoneNumberId: SALES, userId: user })).toMatchObject({ phoneNumberId: SALES, agentSessionId: 'sales-session-2', messageCount: 1 });
      expect(h.sends.map((send) => [send.phoneNumberId, send.text])).toEqual([
        [SUPPORT, '¡Hola! Soy el asistente.\n\nsoporte: hola'],
        [SALES, 'Welcome!\n\nsales: hi'],
        [SUPPORT, 'soporte: otra'],
      ]);
    }
  });

  it('puts the business number on every line of a message\'s path, so one filter follows one number', async () => {
    const h = twoNumbers();
    const lines = h.captureLog();
    await h.deliver(h.text('hola', { phoneNumberId: SUPPORT }));
    await h.deliver(h.text('hi', { phoneNumberId: SALES }));
    const withWamid = lines.filter((line) => typeof line.wamid === 'string');
    expect(withWamid.length).toBeGreaterThan(2);
    expect(withWamid.filter((line) => line.phoneNumberId === undefined)).toEqual([]);
    expect(lines.find((line) => line.message === 'first reply chunk accepted' && line.phoneNumberId === SALES)).toBeDefined();
  });

  it('counts the rate limit per number: the slow-down comes in the number\'s words, the other number still answers', async () => {
    const h = twoNumbers({ rateLimitPerMinute: 1 });
    await h.deliver(h.text('uno', { phoneNumberId: SUPPORT }));
    await h.deliver(h.text('dos', { phoneNumberId: SUPPORT }));
    await h.deliver(h.text('one', { phoneNumberId: SALES }));
    expect(h.calls.map(({ engine, turn }) => [engine, turn.text])).toEqual([
      [SUPPORT_ENGINE, 'uno'],
      [SALES_ENGINE, 'one'],
    ]);
    expect(h.sends.map((send) => [send.phoneNumberId, send.text])).toEqual([
      [SUPPORT, '¡Hola! Soy el asistente.\n\nsoporte: uno'],
      [SUPPORT, 'Más despacio, por favor.'],
      [SALES, 'Welcome!\n\nsales: one'],
    ]);
  });

  it('understands each number\'s own command words, and only on that number', async () => {
    const h = twoNumbers();
    await h.deliver(h.text('stop', { phoneNumberId: SUPPORT }));
    await h.deliver(h.text('sair', { phoneNumberId: SALES }));
    await h.deliver(h.text('/Recomeçar', { phoneNumberId: SUPPORT }));
    await h.deliver(h.text(' SAIR ', { phoneNumberId: SUPPORT }));
    await h.deliver(h.text('¿hola?', { phoneNumberId: SUPPORT }));
    await h.deliver(h.text('stop', { phoneNumberId: SALES }));
    expect(h.calls.map(({ engine, turn }) => [engine, turn.text])).toEqual([
      [SUPPORT_ENGINE, 'stop'],
      [SALES_ENGINE, 'sair'],
    ]);
    expect(h.sends.map((send) => [send.phoneNumberId, send.text])).toEqual([
      [SUPPORT, '¡Hola! Soy el asistente.\n\nsoporte: stop'],
      [SALES, 'Welcome!\n\nsales: sair'],
      [SUPPORT, 'Empezamos de nuevo.'],
      [SUPPORT, 'No te escribiremos más.'],
      [SALES, 'You are unsubscribed'],
    ]);
    expect(await h.deps.optOuts.get(SUPPORT, 'AR.1234567890')).toMatchObject({ command: 'SAIR' });
  });

  it('apologises on the last attempt in the number\'s words, from that number', async () => {
    const h = twoNumbers();
    h.failing.add(SUPPORT_ENGINE);
    const m = h.text('hola', { phoneNumberId: SUPPORT });
    for (let attempt = 1; attempt <= 5; attempt++) await h.deliver(m, { deliveryAttempt: attempt });
    expect(h.sends.map((send) => [send.phoneNumberId, send.text])).toEqual([[SUPPORT, 'Lo siento.']]);
  });

  it('a number with no agent (used only for proactive messages) still records and confirms STOP and START', async () => {
    const h = twoNumbers();
    const NOTIFY = '333333333333333';
    const user = 'AR.1234567890';
    expect(await h.deliver(h.text(' Stop ', { phoneNumberId: NOTIFY }))).toEqual({ ack: true, outcome: 'answered' });
    expect(await h.deps.optOuts.get(NOTIFY, user)).toMatchObject({ command: 'Stop' });
    // Anything else on that number still fails for want of an agent, silently.
    expect(await h.deliver(h.text('hello?', { phoneNumberId: NOTIFY }))).toEqual({ ack: true, outcome: 'failed' });
    expect(await h.deliver(h.text('start', { phoneNumberId: NOTIFY }))).toEqual({ ack: true, outcome: 'answered' });
    expect(await h.deps.optOuts.get(NOTIFY, user)).toBeUndefined();
    expect(h.calls).toEqual([]);
    expect(h.sessionsMade).toEqual([]);
    expect(h.sends.map((send) => [send.phoneNumberId, send.text])).toEqual([
      [NOTIFY, 'You are unsubscribed'],
      [NOTIFY, h.deps.settings.optInConfirmText],
    ]);
  });

  it('a number with no agent: acknowledged, recorded failed with the reason, an error logged with the number, nothing sent, never retried', async () => {
    const h = twoNumbers();
    const lines = h.captureLog();
    const m = h.text('hello?', { phoneNumberId: '333333333333333' });
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'failed' });
    expect(await h.ledger.get(m.wamid)).toMatchObject({ state: 'failed', failureReason: 'no_agent_for_number' });
    expect(h.calls).toEqual([]);
    expect(h.sends).toEqual([]);
    expect(h.reads).toEqual([]);
    const errors = lines.filter((line) => line.severity === 'ERROR');
    expect(errors).toEqual([
      expect.objectContaining({ reason: 'no_agent_for_number', phoneNumberId: '333333333333333', wamid: m.wamid }),
    ]);
    expect(String(errors[0]!.err && (errors[0]!.err as { message?: string }).message)).toMatch(/AGENT_ENGINE_BY_NUMBER/);
    // Pub/Sub delivers it again: a settled duplicate, nothing more.
    expect(await h.deliver(m, { deliveryAttempt: 2 })).toEqual({ ack: true, outcome: 'duplicate' });
    expect(h.sends).toEqual([]);
  });

  it('a number with no agent still opens the user\'s window with it: proactive messages leave from it by default', async () => {
    const h = twoNumbers();
    const NOTIFY = '333333333333333';
    expect(await h.deliver(h.text('hola', { phoneNumberId: SUPPORT }))).toEqual({ ack: true, outcome: 'answered' });
    h.advance(3600_000);
    // The user answers a notification sent from the number that has no agent.
    const m = h.text('yes, deliver it tomorrow', { phoneNumberId: NOTIFY });
    expect(await h.deliver(m)).toEqual({ ack: true, outcome: 'failed' });
    expect(await h.deps.windows.get(NOTIFY, m.userId)).toMatchObject({ lastUserMessageAt: new Date(m.timestamp * 1000) });
    expect((await h.deps.windows.latest(m.userId))?.phoneNumberId).toBe(NOTIFY);
  });
});

describe('processPush: a STOP or START whose writes fail part-way is confirmed once, and takes effect', () => {
  const firestoreDown = () => new RetryableError('firestore unavailable', 'firestore_unavailable');
  /** The next `times` calls of `method` fail, then it works again. */
  function failing<T extends object, K extends keyof T>(target: T, method: K, times = 1) {
    const original = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
    (target as Record<K, unknown>)[method] = async (...args: unknown[]) => {
      if (times-- > 0) throw firestoreDown();
      return original(...args);
    };
  }

  it('STOP whose confirmation could not be stored: the retry records it and confirms it, once', async () => {
    const h = harness();
    const stop = h.text('stop');
    failing(h.ledger, 'saveReply');
    expect(await h.deliver(stop)).toEqual({ ack: false, outcome: 'retry' });
    expect(await h.deliver(stop)).toEqual({ ack: true, outcome: 'answered' });
    expect(await h.deliver(stop)).toEqual({ ack: true, outcome: 'duplicate' });
    expect(h.sends.map((s) => s.text)).toEqual(['You are unsubscribed']);
    expect(await h.optOuts.get(stop.phoneNumberId, stop.userId)).toMatchObject({ command: 'stop' });
  });

  it('STOP whose opt-out could not be recorded once its confirmation was stored: the retry records it, then confirms it', async () => {
    const h = harness();
    const stop = h.text('stop');
    failing(h.optOuts, 'optOut');
    expect(await h.deliver(stop)).toEqual({ ack: false, outcome: 'retry' });
    expect(h.sends).toEqual([]);
    expect(await h.deliver(stop)).toEqual({ ack: true, outcome: 'answered' });
    expect(h.sends.map((s) => s.text)).toEqual(['You are unsubscribed']);
    expect(await h.optOuts.get(stop.phoneNumberId, stop.userId)).toBeDefined();
  });

  it('STOP whose opt-out cannot be written on any attempt: no apology in answer to it', async () => {
    const h = harness();
    const stop = h.text('stop');
    failing(h.optOuts, 'optOut', 5);
    for (let attempt = 1; attempt <= 5; attempt++) await h.deliver(stop, { deliveryAttempt: attempt });
    expect(h.ledger.records.get(stop.wamid)).toMatchObject({ state: 'failed', exhausted: true });
    expect(h.sends).toEqual([]);
  });

  it('START whose confirmation could not be stored: the retry confirms it and does not ask the agent', async () => {
    const h = harness();
    expect(await h.deliver(h.text('stop'))).toEqual({ ack: true, outcome: 'answered' });
    const start = h.text('start');
    failing(h.ledger, 'saveReply');
    expect(await h.deliver(start)).toEqual({ ack: false, outcome: 'retry' });
    expect(await h.deliver(start)).toEqual({ ack: true, outcome: 'answered' });
    expect(h.agentCalls).toEqual([]);
    expect(h.sends.map((s) => s.text)).toEqual(['You are unsubscribed', 'Welcome back']);
    expect(await h.optOuts.get(start.phoneNumberId, start.userId)).toBeUndefined();
  });

  it('START whose opt-in could not be recorded once its confirmation was stored: the retry lifts the opt-out, then confirms it', async () => {
    const h = harness();
    expect(await h.deliver(h.text('stop'))).toEqual({ ack: true, outcome: 'answered' });
    const start = h.text('start');
    failing(h.optOuts, 'optIn');
    expect(await h.deliver(start)).toEqual({ ack: false, outcome: 'retry' });
    expect(await h.optOuts.get(start.phoneNumberId, start.userId)).toBeDefined();
    expect(await h.deliver(start)).toEqual({ ack: true, outcome: 'answered' });
    expect(h.agentCalls).toEqual([]);
    expect(h.sends.map((s) => s.text)).toEqual(['You are unsubscribed', 'Welcome back']);
    expect(await h.optOuts.get(start.phoneNumberId, start.userId)).toBeUndefined();
  });

  it('a dead-lettered STOP replayed after the user opted back in takes effect again before it says so', async () => {
    const h = harness();
    const stop = h.text('stop');
    const down = () => new RetryableError('down', 'graph_http_503');
    h.failSends(down(), down(), down(), down(), down());
    for (let attempt = 1; attempt <= 5; attempt++) await h.deliver(stop, { deliveryAttempt: attempt });
    expect(h.ledger.records.get(stop.wamid)).toMatchObject({ state: 'failed', exhausted: true });
    h.advance(60_000);
    expect(await h.deliver(h.text('start'))).toEqual({ ack: true, outcome: 'answered' });
    expect(await h.optOuts.get(stop.phoneNumberId, stop.userId)).toBeUndefined();

    await h.deliver(stop, { attributes: { replayId: 'replay-1' } });
    expect(h.sends.map((s) => s.text)).toEqual(['Welcome back', 'You are unsubscribed']);
    expect(await h.optOuts.get(stop.phoneNumberId, stop.userId)).toBeDefined();
  });

  it('a dead-lettered START replayed after a later STOP does not lift it: nothing sent, the user stays opted out', async () => {
    const h = harness();
    expect(await h.deliver(h.text('stop'))).toEqual({ ack: true, outcome: 'answered' });
    h.advance(60_000);
    const start = h.text('start');
    const down = () => new RetryableError('down', 'graph_http_503');
    h.failSends(down(), down(), down(), down(), down());
    for (let attempt = 1; attempt <= 5; attempt++) await h.deliver(start, { deliveryAttempt: attempt });
    expect(h.ledger.records.get(start.wamid)).toMatchObject({ state: 'failed', exhausted: true });
    h.advance(60_000);
    expect(await h.deliver(h.text('stop'))).toEqual({ ack: true, outcome: 'answered' });

    expect(await h.deliver(start, { attributes: { replayId: 'replay-1' } })).toMatchObject({ ack: true });
    expect(h.sends.map((s) => s.text)).toEqual(['You are unsubscribed', 'Sorry!', 'You are unsubscribed']);
    expect(await h.optOuts.get(start.phoneNumberId, start.userId)).toBeDefined();
  });
});

describe('processPush: no apology where the bot must be silent, even when the hand-off write fails', () => {
  const key = { phoneNumberId: '123456789012345', userId: 'AR.1234567890' };
  async function pausedWithFailingTranscript(h: ReturnType<typeof harness>) {
    const now = h.deps.now!();
    await h.deps.handoffs.pause(key, (current) => pause(current, { by: 'admin', minutes: 30 }, now, { timeoutMs: 3_600_000 }), now);
    h.deps.handoffs.recordWhilePaused = async () => {
      throw new RetryableError('firestore unavailable', 'firestore_unavailable');
    };
  }

  it('a paused conversation: every attempt fails, the last one sends nothing', async () => {
    const h = harness();
    await pausedWithFailingTranscript(h);
    const m = h.text('¿hola?');
    for (let attempt = 1; attempt <= 5; attempt++) await h.deliver(m, { deliveryAttempt: attempt });
    expect(h.ledger.records.get(m.wamid)).toMatchObject({ state: 'failed', exhausted: true });
    expect(h.sends).toEqual([]);
  });

  it('the conversation cannot be read on the last attempt: an opted-out user or a paused conversation gets no apology', async () => {
    const firestoreDown = async () => {
      throw new RetryableError('firestore unavailable', 'firestore_unavailable');
    };
    const optedOut = harness();
    expect(await optedOut.deliver(optedOut.text('stop'))).toEqual({ ack: true, outcome: 'answered' });
    optedOut.sessions.get = firestoreDown;
    const m = optedOut.text('hello?');
    for (let attempt = 1; attempt <= 5; attempt++) await optedOut.deliver(m, { deliveryAttempt: attempt });
    expect(optedOut.ledger.records.get(m.wamid)).toMatchObject({ state: 'failed', exhausted: true });
    expect(optedOut.sends.map((s) => s.text)).toEqual(['You are unsubscribed']);

    const paused = harness();
    const now = paused.deps.now!();
    await paused.deps.handoffs.pause(key, (current) => pause(current, { by: 'admin', minutes: 30 }, now, { timeoutMs: 3_600_000 }), now);
    paused.sessions.get = firestoreDown;
    for (let attempt = 1; attempt <= 5; attempt++) await paused.deliver(paused.text('¿hola?'), { deliveryAttempt: attempt });
    expect(paused.sends).toEqual([]);
  });

  it('an opted-out user in a paused conversation: nothing after the STOP\'s confirmation', async () => {
    const h = harness();
    expect(await h.deliver(h.text('stop'))).toEqual({ ack: true, outcome: 'answered' });
    await pausedWithFailingTranscript(h);
    const m = h.text('hello?');
    for (let attempt = 1; attempt <= 5; attempt++) await h.deliver(m, { deliveryAttempt: attempt });
    expect(h.ledger.records.get(m.wamid)).toMatchObject({ state: 'failed', exhausted: true });
    expect(h.sends.map((s) => s.text)).toEqual(['You are unsubscribed']);
  });
});

describe('processPush: staff answering from the Business app on one of the user\'s two numbers', () => {
  it('pauses the bot on that number, though the user last wrote to the other', async () => {
    const h = harness();
    const [A, B] = ['123456789012345', '999999999999999'];
    expect(await h.deliver(h.text('hola A', { phoneNumberId: A }))).toEqual({ ack: true, outcome: 'answered' });
    h.advance(60_000);
    expect(await h.deliver(h.text('hola B', { phoneNumberId: B }))).toEqual({ ack: true, outcome: 'answered' });
    h.advance(60_000);
    // Meta's echo names the user by phone number only.
    const echo = { v: 1 as const, kind: 'echo' as const, wamid: 'wamid.echo.1', phoneNumberId: A, to: '5491155550001', timestamp: Math.floor(h.deps.now!().getTime() / 1000), content: { kind: 'text' as const, text: 'Hola, soy Marta' } };
    const paused = await recordStaffEcho(echo, { handoffs: h.deps.handoffs, windows: h.windows, outbound: h.outbound, settings: { timeoutMs: 3_600_000 }, log: h.deps.log, now: h.deps.now! });
    expect(paused).toMatchObject({ phoneNumberId: A, userId: 'AR.1234567890' });
    const before = h.sends.length;
    h.advance(60_000);
    expect(await h.deliver(h.text('gracias Marta', { phoneNumberId: A }))).toEqual({ ack: true, outcome: 'ignored' });
    expect(await h.deliver(h.text('y en B?', { phoneNumberId: B }))).toEqual({ ack: true, outcome: 'answered' });
    expect(h.sends.slice(before).map((s) => s.text)).toEqual(['Echo: y en B?']);
  });
});

describe('processPush: a reply outside the window with nothing to hold as text', () => {
  it('an image alone is neither held nor announced with a template; the next hold still gets its template', async () => {
    const h = harness({ reengageTemplate: { name: 'welcome_back', language: 'es' } });
    h.agent.query = async () => [{ kind: 'tool_call', name: 'whatsapp_media', args: { url: 'https://example.com/menu.jpg', type: 'image' } }];
    const old = h.text('the menu?');
    h.advance(25 * 3600_000);
    expect(await h.deliver(old)).toEqual({ ack: true, outcome: 'held' });
    expect(h.templates).toEqual([]);
    expect(h.held.records.size).toBe(0);

    h.agent.query = async (turn) => [{ kind: 'text', text: `Echo: ${turn.text}` }];
    const late = h.text('and the prices?');
    h.advance(25 * 3600_000);
    expect(await h.deliver(late)).toEqual({ ack: true, outcome: 'held' });
    expect([...h.held.records.values()].map((hold) => hold.replies.map((reply) => reply.text))).toEqual([['Echo: and the prices?']]);
    expect(h.templates).toHaveLength(1);
  });
});
