import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentClient } from '../../shared/agent/agentClient.js';
import { RetryableError } from '../../shared/errors.js';
import { createLogger } from '../../shared/log/logger.js';
import type { WhatsAppClient } from '../../shared/whatsapp/graphClient.js';
import type { InboundMessage } from '../../shared/whatsapp/inboundMessage.js';
import { createMemoryMedia } from '../../test/fakes/memoryMedia.js';
import { oneAgentForEveryNumber } from '../../test/fakes/numberRoutes.js';
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
import type { WorkerAdapters } from './composeWorker.js';
import { createPushTokenVerifier } from './verifyPushToken.js';
import { createWorkerHandler } from './worker.js';

const AUDIENCE = 'https://worker.example';
const GOOD_TOKEN = 'good-token';

/** The worker entry under functions-framework with in-memory adapters: what it answers Pub/Sub, without emulators. */
describe('createWorkerHandler under functions-framework, without emulators', () => {
  const sends: string[] = [];
  let agentDown = false;
  let adaptersFail = false;
  let statusStoreDown = false;
  const ledger = createMemoryInboundLedger();
  const outbound = createMemoryOutboundMessageStore();
  /** Whether a request's domain was active when the agent was asked, per query. */
  const agentQueriedInDomain: boolean[] = [];
  const agent: AgentClient = {
    createSession: async () => 'session-1',
    async query(turn) {
      agentQueriedInDomain.push(Boolean((process as { domain?: unknown }).domain));
      if (agentDown) throw new RetryableError('agent unavailable', 'agent_unavailable', { system: 'agent' });
      return [{ kind: 'text', text: `Echo: ${turn.text}` }];
    },
    deleteSession: async () => {},
  };
  const whatsapp: WhatsAppClient = {
    markReadWithTyping: async () => {},
    sendText: async ({ text }) => `wamid.out.${sends.push(text)}`,
    send: async ({ message }) => `wamid.out.${sends.push(message.type === 'text' ? message.text.body : message.type)}`,
    sendTemplate: async () => 'wamid.template',
    downloadMedia: async () => ({ data: Buffer.from('x'), mimeType: 'image/jpeg' }),
  };
  const windows = createMemoryConversationWindowStore();
  const held = createMemoryHeldReplyStore();
  const optOuts = createMemoryOptOutStore();
  const handoffs = createMemoryHandoffStore();
  const log = createLogger('worker', 'silent');
  const adapters: WorkerAdapters = {
    deliveries: {
      maxDeliveryAttempts: 5,
      bursts: createMemoryBurstBuffer(ledger.records),
      ledger,
      sessions: createMemorySessionStore(),
      rateLimiter: createMemoryRateLimiter(),
      numbers: oneAgentForEveryNumber(agent),
      whatsapp,
      media: createMemoryMedia(),
      outbound,
      optOuts,
      held,
      windows,
      handoffs,
      log,
      settings: testCoreSettings(),
    },
    statuses: {
      outbound: {
        ...outbound,
        async applyStatus(report, now) {
          if (statusStoreDown) throw new Error('Firestore unavailable');
          return outbound.applyStatus(report, now);
        },
      },
      optOuts,
      held,
      whatsapp,
      settings: { heldReplyTtlMs: 3600_000 },
      numbers: oneAgentForEveryNumber(agent),
      now: () => new Date(),
    },
    echoes: { handoffs, windows, outbound, settings: { timeoutMs: 3600_000 }, now: () => new Date() },
  };
  // The real verifier, with Google's token check answered here: only GOOD_TOKEN verifies.
  const verifyPush = createPushTokenVerifier(AUDIENCE, undefined, {
    verifyIdToken: (async ({ idToken }: { idToken: string }) => {
      if (idToken !== GOOD_TOKEN) throw new Error('Wrong number of segments in token');
      return { getPayload: () => ({ iss: 'https://accounts.google.com', aud: AUDIENCE }) };
    }) as never,
  });
  let url: string;
  let server: ReturnType<typeof getTestServer>;

  beforeAll(async () => {
    const deps = async () => {
      if (adaptersFail) throw new Error('Firestore failed to load');
      return adapters;
    };
    http('worker-unit', createWorkerHandler({ projectId: 'p', log, deps, verifyPush }));
    server = getTestServer('worker-unit');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    sends.length = 0;
    agentDown = false;
    adaptersFail = false;
    statusStoreDown = false;
  });

  let counter = 0;
  const inbound = (text: string): InboundMessage => ({
    v: 1,
    wamid: `wamid.unit.${++counter}`,
    userId: 'AR.1',
    phoneNumberId: 'pn1',
    timestamp: Math.floor(Date.now() / 1000),
    content: { kind: 'text', text },
  });
  const envelope = (data: unknown, attributes: Record<string, string> = {}) => ({
    message: { data: Buffer.from(JSON.stringify(data)).toString('base64'), messageId: String(counter), attributes },
    subscription: 'projects/p/subscriptions/inbound-push',
  });
  async function push(body: unknown, token: string | null = GOOD_TOKEN, method = 'POST') {
    const response = await request(url, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: method === 'POST' ? JSON.stringify(body) : undefined,
    });
    return { status: response.statusCode, text: await response.body.text() };
  }

  it('answers a valid push with 204 once the reply went out', async () => {
    expect(await push(envelope(inbound('hola')))).toMatchObject({ status: 204 });
    expect(sends).toEqual(['Echo: hola']);
  });

  it('processes a push outside the request domain functions-framework runs it in, and still answers a failure', async () => {
    agentQueriedInDomain.length = 0;
    expect(await push(envelope(inbound('fuera del dominio')))).toMatchObject({ status: 204 });
    agentDown = true;
    expect(await push(envelope(inbound('fuera y caído')))).toEqual({ status: 503, text: 'retry' });
    expect(agentQueriedInDomain).toEqual([false, false]);
  });

  it('refuses a push without a token, or with a token Google does not verify, with 401 and does nothing', async () => {
    expect(await push(envelope(inbound('sin token')), null)).toMatchObject({ status: 401 });
    expect(await push(envelope(inbound('token falso')), 'forged.token')).toMatchObject({ status: 401 });
    expect(sends).toEqual([]);
  });

  it('answers 400 to a body that is not a Pub/Sub push, and 405 to anything but POST', async () => {
    expect(await push({ hello: 'world' })).toMatchObject({ status: 400 });
    expect(await push(undefined, GOOD_TOKEN, 'GET')).toMatchObject({ status: 405 });
  });

  it('acknowledges (204) a push whose data no retry can fix, so it does not loop', async () => {
    expect(await push(envelope({ not: 'a message' }))).toMatchObject({ status: 204 });
    expect(sends).toEqual([]);
  });

  it('answers 503 when an attempt failed and Pub/Sub should retry, then 204 on the retry', async () => {
    const message = inbound('reintento');
    agentDown = true;
    expect(await push(envelope(message))).toEqual({ status: 503, text: 'retry' });
    agentDown = false;
    expect(await push(envelope(message))).toMatchObject({ status: 204 });
    expect(sends).toEqual(['Echo: reintento']);
  });

  it('answers 429 while another delivery of the same message holds its lease', async () => {
    const message = inbound('ocupado');
    const now = new Date();
    await ledger.claim({ wamid: message.wamid, userId: message.userId, now, leaseMs: 60_000, retentionMs: 3600_000 });
    expect(await push(envelope(message))).toEqual({ status: 429, text: 'busy' });
  });

  it('answers 500 when its adapters failed to load, and 503 when a status cannot be stored', async () => {
    adaptersFail = true;
    expect(await push(envelope(inbound('sin firestore')))).toMatchObject({ status: 500 });
    adaptersFail = false;
    statusStoreDown = true;
    const status = { v: 1, kind: 'status', wamid: 'wamid.out.1', status: 'delivered', timestamp: 1, recipient: '5491100000000', phoneNumberId: 'pn1' };
    expect(await push(envelope(status, { kind: 'status' }))).toMatchObject({ status: 503 });
  });

  it('records a Business app echo (204): the conversation pauses; an unreadable echo is dropped (204), a store failure retried (503)', async () => {
    const echo = { v: 1, kind: 'echo', wamid: 'wamid.echo.1', phoneNumberId: 'pn1', to: '5491100000000', toUserId: 'AR.9', timestamp: Math.floor(Date.now() / 1000), content: { kind: 'text', text: 'Hola, soy Ana' } };
    expect(await push(envelope(echo, { kind: 'echo' }))).toMatchObject({ status: 204 });
    expect(await handoffs.get({ phoneNumberId: 'pn1', userId: 'AR.9' }, new Date())).toMatchObject({ by: 'business_app', entries: [expect.objectContaining({ from: 'staff', text: 'Hola, soy Ana' })] });
    expect(await push(envelope({ ...echo, to: undefined }, { kind: 'echo' }))).toMatchObject({ status: 204 });
    const pause = handoffs.pause;
    handoffs.pause = async () => {
      throw new Error('Firestore unavailable');
    };
    try {
      expect(await push(envelope({ ...echo, wamid: 'wamid.echo.2' }, { kind: 'echo' }))).toEqual({ status: 503, text: 'retry' });
    } finally {
      handoffs.pause = pause;
    }
  });
});
