import { describe, expect, it } from 'vitest';
import type { AgentClient, AgentTurn } from '../../shared/agent/agentClient.js';
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
import { processPush, type PushDeps } from './processPush.js';
import { oneAgentForEveryNumber } from '../../test/fakes/numberRoutes.js';

const settings = testCoreSettings({ burstWindowMs: 2000, burstMaxWaitMs: 8000, optOutCommands: ['stop'], optInCommands: ['start'] });

describe('processPush with bursts: a dead-letter replay of a turn', () => {
  it('replaying the inbound dead letter of a turn\'s first message answers the whole turn, not that message alone', async () => {
    let clock = Date.parse('2026-12-05T12:00:00Z');
    const agentCalls: AgentTurn[] = [];
    let agentDown = true;
    const agent: AgentClient = {
      createSession: async () => 'session-1',
      async query(turn) {
        agentCalls.push(turn);
        if (agentDown) throw new RetryableError('agent unavailable', 'agent_unavailable');
        return [{ kind: 'text', text: `Echo: ${turn.text}` }];
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
      sendTemplate: async () => 'wamid.t',
      async send({ phoneNumberId, to, message }) {
        sends.push({ phoneNumberId, to, text: message.type === 'text' ? message.text.body : `[${message.type}]` });
        return `wamid.out.${sends.length}`;
      },
    };
    const ledger = createMemoryInboundLedger();
    const queued: TurnDue[] = [];
    let turnsDown = false;
    const turns: TurnDuePublisher = {
      publish: async (due) => {
        if (turnsDown) throw new Error('turns topic unavailable');
        queued.push(due);
      },
    };
    const deps: PushDeps = {
      maxDeliveryAttempts: 3,
      ledger,
      sessions: createMemorySessionStore(),
      rateLimiter: createMemoryRateLimiter(),
      numbers: oneAgentForEveryNumber(agent),
      whatsapp,
      handoffs: createMemoryHandoffStore(),
      media: createMemoryMedia(),
      log: createLogger('test', 'silent'),
      settings,
      bursts: createMemoryBurstBuffer(ledger.records),
      turns,
      outbound: createMemoryOutboundMessageStore(),
      optOuts: createMemoryOptOutStore(),
      held: createMemoryHeldReplyStore(),
      windows: createMemoryConversationWindowStore(),
      now: () => new Date(clock),
      sleep: async (ms) => void (clock += ms),
    };
    const text = (wamid: string, body: string): InboundMessage => ({
      v: 1, wamid, userId: 'AR.1', phoneNumberId: 'pn1', timestamp: Math.floor(clock / 1000), content: { kind: 'text', text: body },
    });
    const a = text('wamid.a', 'uno');
    const b = text('wamid.b', 'dos');

    // a joins its buffer, but its turn-due cannot be published on any attempt: Pub/Sub dead-letters a (inbound DLQ).
    turnsDown = true;
    for (let attempt = 1; attempt <= 3; attempt++) {
      await expect(processPush({ message: a, messageId: 'ma', attributes: {}, deliveryAttempt: attempt }, deps)).rejects.toThrow();
    }
    turnsDown = false;
    clock += 500;
    // b arrives; its turn-due takes the burst [a, b] as one turn, which fails on every attempt (turns DLQ).
    expect((await processPush({ message: b, messageId: 'mb', attributes: {} }, deps)).outcome).toBe('buffered');
    const outcomes: string[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      outcomes.push((await processPush({ due: queued[0]!, messageId: 'db', attributes: {}, deliveryAttempt: attempt }, deps)).outcome);
    }
    expect(outcomes).toEqual(['retry', 'retry', 'dead-letter']);
    expect(agentCalls.at(-1)?.text).toBe('uno\ndos');

    // The cause is fixed; the operator replays both dead-letter queues (npm run dlq -- replay --all, then --turns replay --all).
    agentDown = false;
    const inboundReplay = await processPush({ message: a, messageId: 'ra', attributes: { replayId: 'r1' }, deliveryAttempt: 1 }, deps);
    const turnReplay = await processPush({ due: queued[0]!, messageId: 'rb', attributes: { replayId: 'r2' }, deliveryAttempt: 1 }, deps);
    // The first replay reopens the whole turn ("dos" reaches the agent with "uno"); the second finds it answered.
    expect(inboundReplay).toEqual({ ack: true, outcome: 'answered' });
    expect(turnReplay).toEqual({ ack: true, outcome: 'duplicate' });
    expect(agentCalls.at(-1)?.text).toBe('uno\ndos');
    expect(sends.map((s) => s.text)).toEqual(['Sorry!', 'Echo: uno\ndos']);
  });
});
