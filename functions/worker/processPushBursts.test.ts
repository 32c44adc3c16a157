import { describe, expect, it } from 'vitest';
import type { AgentClient, AgentTurn } from '../../shared/agent/agentClient.js';
import type { AgentReplyPart } from '../../shared/agent/parseAgentEvents.js';
import { RetryableError } from '../../shared/errors.js';
import { createLogger } from '../../shared/log/logger.js';
import type { TurnDue, TurnDuePublisher } from '../../shared/queue/turnDue.js';
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
import { testCoreSettings } from '../../test/fakes/workerSettings.js';
import { createMemoryMedia } from '../../test/fakes/memoryMedia.js';
import type { OutboundText, WhatsAppClient } from '../../shared/whatsapp/graphClient.js';
import type { InboundMessage } from '../../shared/whatsapp/inboundMessage.js';
import { pause } from '../../shared/core/handoff.js';
import { processPush, type PushDeps } from './processPush.js';
import { createNumberRoutes } from '../../shared/core/numberRoutes.js';
import { oneAgentForEveryNumber } from '../../test/fakes/numberRoutes.js';

const settings = testCoreSettings({
  rateLimitPerMinute: 2,
  resetCommands: ['/reset'],
  burstWindowMs: 2000,
  burstMaxWaitMs: 8000,
  optOutCommands: ['stop'],
  optInCommands: ['start'],
});

/**
 * The worker's two burst steps over memory stores with the Firestore adapters' rules, on a fake
 * clock: `sleep` advances it, and hooks run "while" the handler waits or the agent answers.
 */
function harness() {
  let clock = Date.parse('2026-12-05T12:00:00Z');
  const agentCalls: AgentTurn[] = [];
  let agentFailures: Error[] = [];
  let duringAgentCall: (() => Promise<void>) | undefined;
  let answer = (turn: AgentTurn): AgentReplyPart[] => [{ kind: 'text', text: `Echo: ${turn.text}` }];
  let sessionsCreated = 0;
  const agent: AgentClient = {
    createSession: async () => `session-${++sessionsCreated}`,
    async query(turn) {
      agentCalls.push(turn);
      const hook = duringAgentCall;
      duringAgentCall = undefined;
      await hook?.();
      const failure = agentFailures.shift();
      if (failure) throw failure;
      return answer(turn);
    },
    deleteSession: async () => {},
  };
  const sends: OutboundText[] = [];
  const reads: string[] = [];
  const whatsapp: WhatsAppClient = {
    markReadWithTyping: async (_id, wamid) => void reads.push(wamid),
    async sendText(message) {
      sends.push(message);
      return `wamid.out.${sends.length}`;
    },
    downloadMedia: async () => ({ data: Buffer.from('x'), mimeType: 'image/jpeg' }),
    sendTemplate: async () => {
      throw new Error('no template is sent on this path');
    },
    async send({ phoneNumberId, to, message }) {
      sends.push({ phoneNumberId, to, text: message.type === 'text' ? message.text.body : `[${message.type}]` });
      return `wamid.out.${sends.length}`;
    },
  };
  const ledger = createMemoryInboundLedger();
  const bursts = createMemoryBurstBuffer(ledger.records);
  const queued: TurnDue[] = [];
  const turns: TurnDuePublisher = { publish: async (due) => void queued.push(due) };
  const sleeps: number[] = [];
  let duringSleep: (() => Promise<void>) | undefined;
  const media = createMemoryMedia();
  const deps: PushDeps = {
    maxDeliveryAttempts: 3,
    ledger,
    sessions: createMemorySessionStore(),
    rateLimiter: createMemoryRateLimiter(),
    numbers: oneAgentForEveryNumber(agent),
    whatsapp,
    handoffs: createMemoryHandoffStore(),
    media,
    log: createLogger('test', 'silent'),
    settings,
    bursts,
    turns,
    outbound: createMemoryOutboundMessageStore(),
    optOuts: createMemoryOptOutStore(),
    held: createMemoryHeldReplyStore(),
    windows: createMemoryConversationWindowStore(),
    now: () => new Date(clock),
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
      const hook = duringSleep;
      duringSleep = undefined;
      await hook?.();
    },
  };
  let counter = 0;
  const message = (content: InboundMessage['content']): InboundMessage => ({
    v: 1,
    wamid: `wamid.in.${++counter}`,
    userId: 'AR.1',
    phoneNumberId: 'pn1',
    timestamp: Math.floor(clock / 1000),
    content,
  });
  const text = (body: string) => message({ kind: 'text', text: body });
  const receive = (message: InboundMessage, attributes: Record<string, string> = {}) =>
    processPush({ message, messageId: 'm', attributes }, deps);
  /** Runs the queued turn-due messages in order, as the ordered turns subscription pushes them; a refused one is pushed again. */
  const drain = async (pushes = 20) => {
    const outcomes: string[] = [];
    while (queued.length && pushes-- > 0) {
      const result = await processPush({ due: queued[0]!, messageId: 'm', attributes: {} }, deps);
      outcomes.push(result.outcome);
      if (result.ack) queued.shift();
    }
    return outcomes;
  };
  return {
    deps,
    ledger,
    bursts,
    agentCalls,
    sends,
    reads,
    sleeps,
    queued,
    media,
    message,
    text,
    receive,
    drain,
    advance: (ms: number) => (clock += ms),
    failAgent: (...errors: Error[]) => (agentFailures = errors),
    answerWith: (reply: (turn: AgentTurn) => AgentReplyPart[]) => (answer = reply),
    whileAgentAnswers: (hook: () => Promise<void>) => (duringAgentCall = hook),
    whileWaiting: (hook: () => Promise<void>) => (duringSleep = hook),
  };
}

const texts = (sends: OutboundText[]) => sends.map((send) => send.text);

describe('bursts in the worker', () => {
  it('buffers each message, marks it read at once and queues a turn-due; the first turn-due answers the whole burst once', async () => {
    const h = harness();
    const [a, b, c] = [h.text('hola'), h.text('quiero cambiar mi pedido'), h.text('el 4512')];
    for (const m of [a, b, c]) {
      expect(await h.receive(m)).toEqual({ ack: true, outcome: 'buffered' });
      h.advance(500);
    }
    expect(h.reads).toEqual([a.wamid, b.wamid, c.wamid]);
    expect(h.queued.map((due) => due.wamid)).toEqual([a.wamid, b.wamid, c.wamid]);
    expect(h.agentCalls).toEqual([]);

    expect(await h.drain()).toEqual(['answered', 'duplicate', 'duplicate']);
    // The handler waited out the window after the latest message (500 ms had passed since it).
    expect(h.sleeps).toEqual([1500]);
    expect(h.agentCalls.map((call) => call.text)).toEqual(['hola\nquiero cambiar mi pedido\nel 4512']);
    expect(texts(h.sends)).toEqual(['Echo: hola\nquiero cambiar mi pedido\nel 4512']);
    expect(await h.ledger.get(a.wamid)).toMatchObject({ state: 'answered', turnId: a.wamid });
    expect(await h.ledger.get(c.wamid)).toMatchObject({ state: 'merged', turnId: a.wamid });
  });

  it('keeps waiting while the user writes during the wait, up to the cap', async () => {
    const h = harness();
    h.deps.settings = { ...settings, burstWindowMs: 3000 };
    await h.receive(h.text('uno'));
    // Each time the handler's wait ends, the user has sent one more message.
    let sent = 0;
    const keepWriting = async (): Promise<void> => {
      await h.receive(h.text(`más ${++sent}`));
      h.whileWaiting(keepWriting);
    };
    h.whileWaiting(keepWriting);
    expect((await processPush({ due: h.queued[0]!, messageId: 'm', attributes: {} }, h.deps)).outcome).toBe('answered');
    // Windows end at 3000 and 6000; the third would end at 9000, past the 8000 ms cap: cut there.
    expect(h.sleeps).toEqual([3000, 3000, 2000]);
    expect(h.agentCalls).toHaveLength(1);
    expect(h.agentCalls[0]!.text.split('\n')).toEqual(['uno', 'más 1', 'más 2', 'más 3']);
  });

  it('a message arriving while the agent answers is not merged: it is the next turn, answered after', async () => {
    const h = harness();
    const [a, b] = [h.text('primera'), h.text('segunda')];
    await h.receive(a);
    await h.receive(b);
    const late = h.text('tarde');
    h.whileAgentAnswers(async () => {
      await h.receive(late);
    });
    expect(await h.drain()).toEqual(['answered', 'duplicate', 'answered']);
    expect(h.agentCalls.map((call) => call.text)).toEqual(['primera\nsegunda', 'tarde']);
    expect(texts(h.sends)).toEqual(['Echo: primera\nsegunda', 'Echo: tarde']);
  });

  it('a reset ends the burst: the turn before it, the reset alone, then a fresh burst', async () => {
    const h = harness();
    for (const body of ['hola', 'pedido', '/reset', 'otra cosa']) {
      await h.receive(h.text(body));
      h.advance(100);
    }
    expect(await h.drain()).toEqual(['answered', 'duplicate', 'answered', 'answered']);
    expect(h.agentCalls.map((call) => call.text)).toEqual(['hola\npedido', 'otra cosa']);
    expect(texts(h.sends)).toEqual(['Echo: hola\npedido', 'Fresh start', 'Echo: otra cosa']);
  });

  it('duplicate deliveries add nothing; a duplicate turn-due push finds its turn settled', async () => {
    const h = harness();
    const a = h.text('hola');
    await h.receive(a);
    expect(await h.receive(a)).toEqual({ ack: true, outcome: 'buffered' });
    expect(await h.bursts.pending(a)).toHaveLength(1);
    expect(await h.drain()).toEqual(['answered', 'duplicate']);
    expect(await h.receive(a)).toEqual({ ack: true, outcome: 'duplicate' });
    expect(await processPush({ due: { v: 1, kind: 'turn-due', wamid: a.wamid, userId: 'AR.1', phoneNumberId: 'pn1' }, messageId: 'm', attributes: {} }, h.deps)).toEqual({
      ack: true,
      outcome: 'duplicate',
    });
    expect(h.agentCalls).toHaveLength(1);
    expect(h.sends).toHaveLength(1);
  });

  it('a failed attempt is retried on the same turn without asking the agent for the taken messages again', async () => {
    const h = harness();
    const [a, b] = [h.text('uno'), h.text('dos')];
    await h.receive(a);
    await h.receive(b);
    h.failAgent(new RetryableError('agent unavailable', 'agent_unavailable'));
    expect(await h.drain()).toEqual(['retry', 'answered', 'duplicate']);
    expect(h.agentCalls.map((call) => call.text)).toEqual(['uno\ndos', 'uno\ndos']);
    expect(texts(h.sends)).toEqual(['Echo: uno\ndos']);
    expect(await h.ledger.get(a.wamid)).toMatchObject({ state: 'answered', attempts: 2 });
  });

  it('the last attempt apologises once and dead-letters; every wamid of the turn leads to the failed record', async () => {
    const h = harness();
    const [a, b] = [h.text('uno'), h.text('dos')];
    await h.receive(a);
    await h.receive(b);
    const unavailable = () => new RetryableError('agent unavailable', 'agent_unavailable');
    h.failAgent(unavailable(), unavailable(), unavailable());
    const outcomes = [];
    for (let attempt = 1; attempt <= 3; attempt += 1) outcomes.push((await processPush({ due: h.queued[0]!, messageId: 'm', attributes: {} }, h.deps)).outcome);
    expect(outcomes).toEqual(['retry', 'retry', 'dead-letter']);
    expect(texts(h.sends)).toEqual(['Sorry!']);
    expect(await h.ledger.get(a.wamid)).toMatchObject({ state: 'failed', exhausted: true, apologySent: true });
    expect((await h.ledger.get(b.wamid))?.turnId).toBe(a.wamid);
    // The next turn-due (b's) finds the turn exhausted: it dead-letters too rather than answer again.
    expect((await processPush({ due: h.queued[1]!, messageId: 'm', attributes: {} }, h.deps)).outcome).toBe('dead-letter');
    // A replay of the dead letter reopens the turn once and answers it.
    expect((await processPush({ due: h.queued[0]!, messageId: 'm', attributes: { replayId: 'r1' } }, h.deps)).outcome).toBe('answered');
    expect(texts(h.sends)).toEqual(['Sorry!', 'Echo: uno\ndos']);
  });

  it('an opt-out word ends the burst and is handled alone; after it the user gets nothing, not even a read receipt', async () => {
    const h = harness();
    const [hola, pedido, stop, later] = [h.text('hola'), h.text('pedido'), h.text('STOP'), h.text('otra cosa')];
    for (const m of [hola, pedido, stop, later]) {
      await h.receive(m);
      h.advance(100);
    }
    await h.drain();
    expect(h.agentCalls.map((call) => call.text)).toEqual(['hola\npedido']);
    expect(texts(h.sends)).toEqual(['Echo: hola\npedido', 'You are unsubscribed']);
    const afterStop = h.text('¿hola?');
    await h.receive(afterStop);
    await h.drain();
    expect(texts(h.sends)).toHaveLength(2);
    // The STOP gets its confirmation, not a read receipt; nothing written after it is read.
    expect(h.reads).toContain(pedido.wamid);
    expect(h.reads).not.toContain(stop.wamid);
    expect(h.reads).not.toContain(afterStop.wamid);
  });

  it('a business number\'s own opt-out words end its bursts; the deployment\'s words are then ordinary text there', async () => {
    const h = harness();
    const route = h.deps.numbers.route('pn1');
    if (route.kind !== 'agent') throw new Error('unreachable');
    h.deps.numbers = createNumberRoutes({
      defaultEngine: route.engine,
      enginesByNumber: {},
      settingsByNumber: { pn1: { optOutCommands: ['sair'], optOutConfirmText: 'Você não receberá mais mensagens.' } },
      agentFor: () => route.agent,
    });
    const [oi, stop, sair] = [h.text('oi'), h.text('stop'), h.text('Sair')];
    for (const m of [oi, stop, sair]) {
      await h.receive(m);
      h.advance(100);
    }
    await h.drain();
    expect(h.agentCalls.map((call) => call.text)).toEqual(['oi\nstop']);
    expect(texts(h.sends)).toEqual(['Echo: oi\nstop', 'Você não receberá mais mensagens.']);
    const later = h.text('outra coisa');
    await h.receive(later);
    await h.drain();
    expect(h.sends).toHaveLength(2);
    expect(h.reads).toContain(stop.wamid);
    expect(h.reads).not.toContain(sair.wamid);
    expect(h.reads).not.toContain(later.wamid);
  });

  it('the rate limit counts agent turns, not messages', async () => {
    const h = harness();
    for (let turn = 1; turn <= 2; turn += 1) {
      for (const body of ['a', 'b', 'c']) await h.receive(h.text(`${body}${turn}`));
      await h.drain();
    }
    // Six messages in two turns, with a limit of 2 per minute: both answered by the agent.
    expect(h.agentCalls).toHaveLength(2);
    expect(texts(h.sends)).toEqual(['Echo: a1\nb1\nc1', 'Echo: a2\nb2\nc2']);
  });

  it('with bursts off, and for reactions, a message is its own turn at once', async () => {
    const h = harness();
    h.deps.settings = { ...settings, burstWindowMs: 0 };
    expect(await h.receive(h.text('hola'))).toEqual({ ack: true, outcome: 'answered' });
    h.deps.settings = settings;
    const reaction: InboundMessage = { ...h.text(''), content: { kind: 'reaction', reactedWamid: 'wamid.out.1', emoji: '👍' } };
    expect(await h.receive(reaction)).toEqual({ ack: true, outcome: 'ignored' });
    expect(h.queued).toEqual([]);
  });
});

describe('bursts while a person has the conversation (hand-off)', () => {
  it('buffers without a read receipt, and the turn keeps the messages for staff without an agent call or a send', async () => {
    const h = harness();
    const now = h.deps.now!();
    await h.deps.handoffs.pause({ phoneNumberId: 'pn1', userId: 'AR.1' }, (current) => pause(current, { by: 'business_app' }, now, { timeoutMs: 3_600_000 }), now);
    const [a, b] = [h.text('hola'), h.text('¿alguien?')];
    await h.receive(a);
    await h.receive(b);
    expect(h.reads).toEqual([]);
    expect(await h.drain()).toEqual(['ignored', 'duplicate']);
    expect(h.agentCalls).toEqual([]);
    expect(h.sends).toEqual([]);
    expect((await h.deps.handoffs.get({ phoneNumberId: 'pn1', userId: 'AR.1' }, h.deps.now!()))?.entries.map((e) => e.text)).toEqual(['hola', '¿alguien?']);
  });
});

const seedHold = async (h: ReturnType<typeof harness>, text: string) => {
  const now = h.deps.now!();
  await h.deps.held.hold({ phoneNumberId: 'pn1', userId: 'AR.1', replies: [{ id: `wamid.old#0`, text, heldAt: now }], now, ttlMs: 72 * 3600_000 });
};

const reaction = (h: ReturnType<typeof harness>, to: string): InboundMessage => ({
  ...h.text('x'),
  content: { kind: 'reaction', reactedWamid: to, emoji: '👍' },
});

describe('processPush with bursts: a reaction runs at once, beside its conversation\'s buffered turns, and leaves held replies to them', () => {
  it('a held reply is sent once even when a reaction comes while the burst turn delivers it', async () => {
    const h = harness();
    await seedHold(h, 'held answer');
    const hi = h.text('hola');
    expect(await h.receive(hi)).toEqual({ ack: true, outcome: 'buffered' });
    const sendText = h.deps.whatsapp.sendText.bind(h.deps.whatsapp);
    let reacted = false;
    h.deps.whatsapp.sendText = async (message) => {
      const wamid = await sendText(message);
      if (!reacted && message.text === 'held answer') {
        reacted = true;
        // The user reacts to the held answer as it arrives: the inbound push runs while the turn is still delivering.
        await h.receive(reaction(h, wamid));
      }
      return wamid;
    };
    await h.drain();
    expect(texts(h.sends)).toEqual(['held answer', 'Echo: hola']);
  });

  it('a STOP buffered before a reaction takes effect before the reaction: the held reply is not sent after STOP', async () => {
    const h = harness();
    await seedHold(h, 'held answer');
    expect(await h.receive(h.text('stop'))).toEqual({ ack: true, outcome: 'buffered' });
    h.advance(300);
    await h.receive(reaction(h, 'wamid.template.1'));
    await h.drain();
    expect(texts(h.sends)).toEqual(['You are unsubscribed']);
  });
});

describe('processPush with bursts: an attachment over its limit among other messages', () => {
  it('the agent answers the other messages, told of the attachment in its place', async () => {
    const h = harness();
    h.deps.settings = { ...settings, agentAcceptsMedia: true };
    const question = h.text('my order 4512 arrived broken, what do I do?');
    const video = h.message({ kind: 'media', mediaType: 'video', mediaId: 'media-huge', mimeType: 'video/mp4' });
    h.media.tooLarge.add('media-huge');
    await h.receive(question);
    h.advance(300);
    await h.receive(video);
    expect(await h.drain()).toEqual(['answered', 'duplicate']);
    const note = '[That video is too large to open here: its content is not available to you. They can send a smaller file.]';
    const asked = `my order 4512 arrived broken, what do I do?\n[The user sent a video]\n${note}`;
    expect(h.agentCalls.map((call) => call.text)).toEqual([asked]);
    expect(h.agentCalls[0]!.media).toBeUndefined();
    expect(texts(h.sends)).toEqual([`Echo: ${asked}`]);
  });

  it('a turn that is only attachments over their limit gets the fixed reply, without the agent', async () => {
    const h = harness();
    h.deps.settings = { ...settings, agentAcceptsMedia: true };
    for (const id of ['media-huge-1', 'media-huge-2']) {
      h.media.tooLarge.add(id);
      await h.receive(h.message({ kind: 'media', mediaType: 'video', mediaId: id, mimeType: 'video/mp4' }));
      h.advance(300);
    }
    expect(await h.drain()).toEqual(['answered', 'duplicate']);
    expect(h.agentCalls).toEqual([]);
    expect(texts(h.sends)).toHaveLength(1);
  });
});

describe('processPush: an agent answer made only of tool calls', () => {
  it('asks again, as for an empty reply, when the agent answers only with a call that renders to nothing', async () => {
    const h = harness();
    // An http:// image link without a caption: renderMedia refuses the URL and has no caption to send instead.
    let calls = 0;
    h.answerWith((turn) =>
      ++calls === 1 ? [{ kind: 'tool_call', name: 'whatsapp_media', args: { url: 'http://shop.example/photo.jpg', type: 'image' } }] : [{ kind: 'text', text: `Echo: ${turn.text}` }],
    );
    await h.receive(h.text('send me a photo of the product'));
    expect(await h.drain()).toEqual(['retry', 'answered']);
    expect(texts(h.sends)).toEqual(['Echo: send me a photo of the product']);
    // Asked again in the session the first attempt started, not in a second one.
    expect(h.agentCalls.map((call) => call.sessionId)).toEqual([h.agentCalls[0]!.sessionId, h.agentCalls[0]!.sessionId]);
  });
});

describe('processPush with bursts: a dead-letter replay of a turn', () => {
  it('replaying the inbound dead letter of a turn\'s first message answers the whole turn, not that message alone', async () => {
    const h = harness();
    const a = h.text('uno');
    // a joins its buffer, but its turn-due cannot be published on any attempt: Pub/Sub dead-letters a (inbound DLQ).
    const turns = h.deps.turns;
    h.deps.turns = {
      publish: async () => {
        throw new Error('turns topic unavailable');
      },
    };
    for (let attempt = 1; attempt <= 3; attempt++) {
      await expect(processPush({ message: a, messageId: 'ma', attributes: {}, deliveryAttempt: attempt }, h.deps)).rejects.toThrow(/turns topic/);
    }
    h.deps.turns = turns;
    h.advance(500);
    // b arrives; its turn-due takes the burst [a, b] as one turn, which fails on every attempt (turns DLQ).
    const b = h.text('dos');
    expect(await h.receive(b)).toEqual({ ack: true, outcome: 'buffered' });
    const unavailable = () => new RetryableError('agent unavailable', 'agent_unavailable');
    h.failAgent(unavailable(), unavailable(), unavailable());
    const outcomes: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      outcomes.push((await processPush({ due: h.queued[0]!, messageId: 'db', attributes: {}, deliveryAttempt: attempt }, h.deps)).outcome);
    }
    expect(outcomes).toEqual(['retry', 'retry', 'dead-letter']);
    expect(h.agentCalls.at(-1)?.text).toBe('uno\ndos');

    // The cause is fixed; the operator replays both dead-letter queues (npm run dlq -- replay --all, then --turns replay --all).
    const inboundReplay = await processPush({ message: a, messageId: 'ra', attributes: { replayId: 'r1' }, deliveryAttempt: 1 }, h.deps);
    const turnReplay = await processPush({ due: h.queued[0]!, messageId: 'rb', attributes: { replayId: 'r2' }, deliveryAttempt: 1 }, h.deps);
    // The first replay reopens the whole turn ("dos" reaches the agent with "uno"); the second finds it answered.
    expect(inboundReplay).toEqual({ ack: true, outcome: 'answered' });
    expect(turnReplay).toEqual({ ack: true, outcome: 'duplicate' });
    expect(h.agentCalls.at(-1)?.text).toBe('uno\ndos');
    expect(texts(h.sends)).toEqual([h.deps.settings.apologyText, 'Echo: uno\ndos']);
  });
});
