import { describe, expect, it } from 'vitest';
import type { AgentClient, AgentTurn } from '../../shared/agent/agentClient.js';
import type { AgentReplyPart } from '../../shared/agent/parseAgentEvents.js';
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
import type { InboundContent, InboundMessage } from '../../shared/whatsapp/inboundMessage.js';
import { processPush, type PushDeps } from './processPush.js';
import { oneAgentForEveryNumber } from '../../test/fakes/numberRoutes.js';

const settings = testCoreSettings({
  resetCommands: ['/reset'],
  burstWindowMs: 2000,
  burstMaxWaitMs: 8000,
  agentAcceptsMedia: true,
});

/** The bursts harness of processPushBursts.test.ts, with media the agent accepts and the agent's answer settable. */
function harness() {
  let clock = Date.parse('2026-12-05T12:00:00Z');
  const agentCalls: AgentTurn[] = [];
  let answer: ((turn: AgentTurn) => AgentReplyPart[]) | undefined;
  let sessionsCreated = 0;
  const agent: AgentClient = {
    createSession: async () => `session-${++sessionsCreated}`,
    async query(turn) {
      agentCalls.push(turn);
      return answer ? answer(turn) : [{ kind: 'text', text: `Echo: ${turn.text}` }];
    },
    deleteSession: async () => {},
  };
  const sends: OutboundText[] = [];
  const whatsapp: WhatsAppClient = {
    markReadWithTyping: async () => {},
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
      clock += ms;
    },
  };
  let counter = 0;
  const message = (content: InboundContent): InboundMessage => ({
    v: 1,
    wamid: `wamid.in.${++counter}`,
    userId: 'AR.1',
    phoneNumberId: 'pn1',
    timestamp: Math.floor(clock / 1000),
    content,
  });
  const receive = (m: InboundMessage) => processPush({ message: m, messageId: 'm', attributes: {} }, deps);
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
    media,
    agentCalls,
    sends,
    message,
    text: (body: string) => message({ kind: 'text', text: body }),
    receive,
    drain,
    advance: (ms: number) => (clock += ms),
    answerWith: (fn: (turn: AgentTurn) => AgentReplyPart[]) => (answer = fn),
  };
}

const texts = (sends: OutboundText[]) => sends.map((send) => send.text);

describe('processPush with bursts: an attachment over its limit among other messages', () => {
  it('the agent answers the other messages, told of the attachment in its place', async () => {
    const h = harness();
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
