import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { describeWithEmulators } from '../../test/integration/testStack.js';
import type { AgentClient, AgentTurn } from '../agent/agentClient.js';
import { createLogger } from '../log/logger.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import type { WhatsAppClient } from '../whatsapp/graphClient.js';
import {
  createMemoryBurstBuffer,
  createMemoryConversationWindowStore,
  createMemoryHandoffStore,
  createMemoryHeldReplyStore,
  createMemoryInboundLedger,
  createMemoryOptOutStore,
  createMemoryOutboundMessageStore,
  createMemoryRateLimiter,
} from '../../test/fakes/memoryStores.js';
import { createMemoryMedia } from '../../test/fakes/memoryMedia.js';
import { testCoreSettings } from '../../test/fakes/workerSettings.js';
import { oneAgentForEveryNumber } from '../../test/fakes/numberRoutes.js';
import { processPush, type PushDeps } from '../../functions/worker/processPush.js';
import { createFirestoreSessionStore } from './firestoreSessionStore.js';
import type { SessionStore } from './sessionStore.js';

describeWithEmulators('Firestore session writes of two users\' turns that run at once (emulator)', () => {
  let db: Firestore;
  let sessions: SessionStore;
  beforeAll(() => {
    const emulators = inject('emulators');
    if ('skipReason' in emulators) return;
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost;
    db = new Firestore({ projectId: `test-${randomUUID().slice(0, 8)}`, ignoreUndefinedProperties: true });
    sessions = createFirestoreSessionStore(db);
  });
  afterAll(async () => {
    await db?.terminate();
  });

  it('store level: a touch of a session deleted meanwhile does not fail another user\'s new session written in the same tick', async () => {
    const x = { phoneNumberId: 'pn1', userId: `x-${randomUUID().slice(0, 8)}` };
    const y = { phoneNumberId: 'pn1', userId: `y-${randomUUID().slice(0, 8)}` };
    const now = new Date();
    const results = await Promise.allSettled([
      sessions.touch(x, now, new Date(now.getTime() + 3600_000)),
      sessions.put({ ...y, agentSessionId: 'y-session-1', createdAt: now, lastMessageAt: now, expiresAt: new Date(now.getTime() + 3600_000), messageCount: 1 }),
    ]);
    expect(results[1]).toEqual({ status: 'fulfilled', value: undefined });
    expect((await sessions.get(y))?.agentSessionId).toBe('y-session-1');
  });

  it('worker level: user Y\'s first agent session survives user X\'s session being deleted while both turns run; Y\'s second message uses it', async () => {
    let sessionCounter = 0;
    const agentCalls: AgentTurn[] = [];
    let gate!: () => void;
    const gateOpen = new Promise<void>((resolve) => (gate = resolve));
    let gated = 2;
    let arrived!: () => void;
    const bothArrived = new Promise<void>((resolve) => (arrived = resolve));
    const agent: AgentClient = {
      createSession: async (userId) => `${userId}-session-${++sessionCounter}`,
      async query(turn) {
        agentCalls.push(turn);
        if (gated > 0) {
          gated -= 1;
          if (gated === 0) arrived();
          await gateOpen;
        }
        return [{ kind: 'text', text: `Echo: ${turn.text}` }];
      },
      deleteSession: async () => {},
    };
    const whatsapp: WhatsAppClient = {
      markReadWithTyping: async () => {},
      sendText: async () => `wamid.out.${randomUUID()}`,
      send: async () => `wamid.out.${randomUUID()}`,
      sendTemplate: async () => `wamid.t.${randomUUID()}`,
      downloadMedia: async () => ({ data: Buffer.from('x'), mimeType: 'image/jpeg' }),
    };
    const ledger = createMemoryInboundLedger();
    const deps: PushDeps = {
      maxDeliveryAttempts: 5,
      bursts: createMemoryBurstBuffer(ledger.records),
      ledger,
      sessions,
      rateLimiter: createMemoryRateLimiter(),
      numbers: oneAgentForEveryNumber(agent),
      whatsapp,
      media: createMemoryMedia(),
      outbound: createMemoryOutboundMessageStore(),
      optOuts: createMemoryOptOutStore(),
      held: createMemoryHeldReplyStore(),
      windows: createMemoryConversationWindowStore(),
      handoffs: createMemoryHandoffStore(),
      log: createLogger('test', 'silent'),
      settings: testCoreSettings(),
    };
    const x = { phoneNumberId: 'pn1', userId: `x-${randomUUID().slice(0, 8)}` };
    const y = { phoneNumberId: 'pn1', userId: `y-${randomUUID().slice(0, 8)}` };
    let n = 0;
    const text = (who: { phoneNumberId: string; userId: string }, body: string): InboundMessage => ({
      v: 1,
      wamid: `wamid.${who.userId}.${++n}`,
      ...who,
      timestamp: Math.floor(Date.now() / 1000),
      content: { kind: 'text', text: body },
    });
    const deliver = (m: InboundMessage) => processPush({ message: m, messageId: 'm', attributes: {} }, deps);
    // X already talks to the bot: a stored session.
    const now = new Date();
    await sessions.put({ ...x, agentSessionId: 'x-session-0', createdAt: now, lastMessageAt: now, expiresAt: new Date(now.getTime() + 3600_000), messageCount: 3 });

    // X's turn and Y's first turn run at once on one instance (different users: different ordering keys).
    const turns = Promise.all([deliver(text(x, 'hola de X')), deliver(text(y, 'hola de Y'))]);
    await bothArrived;
    // While the agent answers, an operator deletes X's session (DELETE /whatsapp/sessions/{x}).
    expect(await sessions.delete(x)).toBe(true);
    gate();
    expect((await turns).map((r) => r.outcome)).toEqual(['answered', 'answered']);

    // Y writes again: the agent must get Y's first session, not a second one (which loses Y's context).
    expect((await deliver(text(y, 'segunda de Y'))).outcome).toBe('answered');
    const ySessions = agentCalls.filter((call) => call.userId === y.userId).map((call) => call.sessionId);
    expect(ySessions).toEqual([ySessions[0], ySessions[0]]);
  });
});
