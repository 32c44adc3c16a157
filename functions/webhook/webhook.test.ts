import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { echoWebhook, textWebhook, toMetaJson } from '../../local/webhookBodies.js';
import { loadConfig, webhookConfigSchema } from '../../shared/config/config.js';
import { createLogger } from '../../shared/log/logger.js';
import type { InboundPublisher } from '../../shared/queue/inboundPublisher.js';
import type { InboundMessage } from '../../shared/whatsapp/inboundMessage.js';
import type { MessageEcho } from '../../shared/whatsapp/messageEcho.js';
import { signatureFor } from '../../shared/whatsapp/signature.js';
import { createWebhookHandler, MAX_WEBHOOK_BYTES } from './webhook.js';

const SECRET = 'unit-secret';

/** A publisher behind the real interface: records what it is given, or fails like Pub/Sub would. */
function fakePublisher() {
  const published: InboundMessage[] = [];
  const echoes: MessageEcho[] = [];
  let failure: Error | undefined;
  const publisher: InboundPublisher = {
    async publish(message) {
      if (failure) throw failure;
      published.push(message);
      return String(published.length);
    },
    async publishStatuses() {
      if (failure) throw failure;
    },
    async publishEcho(echo) {
      if (failure) throw failure;
      echoes.push(echo);
      return `echo-${echoes.length}`;
    },
    async close() {},
  };
  return { publisher, published, echoes, failWith: (error: Error | undefined) => (failure = error) };
}

describe('createWebhookHandler under functions-framework, without emulators', () => {
  const pubsub = fakePublisher();
  let url: string;
  let server: ReturnType<typeof getTestServer>;

  beforeAll(async () => {
    const config = loadConfig(webhookConfigSchema, {
      GOOGLE_CLOUD_PROJECT: 'p',
      WHATSAPP_VERIFY_TOKEN: 'verify',
      WHATSAPP_APP_SECRET: SECRET,
    });
    http('webhook-unit', createWebhookHandler(config, { publisher: pubsub.publisher, log: createLogger('webhook', 'silent') }));
    server = getTestServer('webhook-unit');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    pubsub.published.length = 0;
    pubsub.echoes.length = 0;
    pubsub.failWith(undefined);
  });

  async function post(body: string, headers: Record<string, string>) {
    const response = await request(url, { method: 'POST', headers, body });
    return { status: response.statusCode, text: await response.body.text() };
  }
  const signed = (body: string) => ({ 'content-type': 'application/json', 'x-hub-signature-256': signatureFor(body, SECRET) });
  const message = toMetaJson(textWebhook({ phone: '5491155550001', name: 'Ana' }, 'hola'));

  it('publishes a signed message and answers 200', async () => {
    expect(await post(message, signed(message))).toEqual({ status: 200, text: 'EVENT_RECEIVED' });
    expect(pubsub.published.map((m) => m.content)).toEqual([{ kind: 'text', text: 'hola' }]);
  });

  it('publishes a signed Business app echo as an echo (not an inbound message) and answers 200', async () => {
    const echo = toMetaJson(echoWebhook({ phone: '5491155550001' }, 'Hola, soy Ana'));
    expect(await post(echo, signed(echo))).toEqual({ status: 200, text: 'EVENT_RECEIVED' });
    expect(pubsub.published).toEqual([]);
    expect(pubsub.echoes.map((e) => [e.to, e.content])).toEqual([['5491155550001', { kind: 'text', text: 'Hola, soy Ana' }]]);
    expect((await post(echo, { 'content-type': 'application/json', 'x-hub-signature-256': signatureFor(echo, 'other') })).status).toBe(401);
    expect(pubsub.echoes).toHaveLength(1);
    pubsub.failWith(new Error('UNAVAILABLE'));
    expect((await post(echo, signed(echo))).status).toBe(503);
  });

  it('answers 401 to a missing, wrong or near-miss signature, and publishes nothing', async () => {
    const right = signatureFor(message, SECRET);
    for (const signature of [undefined, signatureFor(message, 'other'), `${right}zz`, `${right},${right}`]) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (signature) headers['x-hub-signature-256'] = signature;
      expect((await post(message, headers)).status, String(signature)).toBe(401);
    }
    expect(pubsub.published).toEqual([]);
  });

  it('answers 413 over the limit and 415 to a body that is not JSON', async () => {
    const oversized = JSON.stringify({ object: 'whatsapp_business_account', entry: [], padding: 'x'.repeat(MAX_WEBHOOK_BYTES) });
    expect((await post(oversized, signed(oversized))).status).toBe(413);
    expect((await post(message, { ...signed(message), 'content-type': 'text/plain' })).status).toBe(415);
    expect(pubsub.published).toEqual([]);
  });

  it('answers 400 to signed malformed JSON or a body that is not a WhatsApp webhook', async () => {
    for (const body of ['{"object":', '[1,2,3]', '{"object":"instagram","entry":[]}']) {
      expect((await post(body, signed(body))).status, body).toBe(400);
    }
    expect(pubsub.published).toEqual([]);
  });

  it('answers 503 when Pub/Sub fails, so Meta retries', async () => {
    pubsub.failWith(new Error('UNAVAILABLE'));
    expect((await post(message, signed(message))).status).toBe(503);
  });
});
