import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, webhookConfigSchema } from '../../shared/config/config.js';
import { createLogger } from '../../shared/log/logger.js';
import type { InboundPublisher } from '../../shared/queue/inboundPublisher.js';
import type { InboundMessage } from '../../shared/whatsapp/inboundMessage.js';
import { signatureFor } from '../../shared/whatsapp/signature.js';
import { newWamid, textWebhook, toMetaJson } from '../../local/webhookBodies.js';
import { createWebhookHandler } from './webhook.js';

const SECRET = 'trace-test-secret';
const PROJECT = 'trace-project';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

const published: { message: InboundMessage; attributes: Record<string, string> }[] = [];
const logLines: Record<string, unknown>[] = [];
let url: string;
let close: () => void;

beforeAll(async () => {
  const config = loadConfig(webhookConfigSchema, {
    GOOGLE_CLOUD_PROJECT: PROJECT,
    WHATSAPP_VERIFY_TOKEN: 'v',
    WHATSAPP_APP_SECRET: SECRET,
  });
  const publisher: InboundPublisher = {
    async publish(message, attributes = {}) {
      published.push({ message, attributes });
      return String(published.length);
    },
    async publishStatuses() {},
    async publishEcho() {
      return 'echo';
    },
    async close() {},
  };
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  http('webhookTraceTest', createWebhookHandler(config, { publisher, log: createLogger('webhook', 'debug', sink) }));
  const server = getTestServer('webhookTraceTest');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  close = () => server.close();
});
afterAll(() => close?.());

/** Posts a signed callback holding one message per wamid; returns what was published and logged for them. */
async function callback(wamids: string[], headers: Record<string, string> = {}) {
  const body = textWebhook({ phone: '5215512345678' }, 'hola', { wamid: wamids[0]! }) as {
    entry: { changes: { value: { messages: Record<string, unknown>[] } }[] }[];
  };
  const messages = body.entry[0]!.changes[0]!.value.messages;
  for (const wamid of wamids.slice(1)) messages.push({ ...messages[0], id: wamid });
  const raw = toMetaJson(body);
  const before = Date.now();
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureFor(raw, SECRET), ...headers },
    body: raw,
  });
  expect(response.statusCode).toBe(200);
  await response.body.dump();
  const after = Date.now();
  return {
    before,
    after,
    published: published.filter((entry) => wamids.includes(entry.message.wamid)),
    logged: logLines.filter((line) => wamids.includes(String(line.wamid))),
  };
}

describe('the webhook hands the callback’s trace to the worker', () => {
  it('from X-Cloud-Trace-Context: same trace and span in the attributes and on the log lines', async () => {
    const wamid = newWamid();
    const { published: sent, logged } = await callback([wamid], { 'x-cloud-trace-context': `${TRACE}/255;o=1` });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.attributes.traceparent).toBe(`00-${TRACE}-00000000000000ff-01`);
    expect(logged.length).toBeGreaterThan(0);
    for (const line of logged) {
      expect(line['logging.googleapis.com/trace']).toBe(`projects/${PROJECT}/traces/${TRACE}`);
      expect(line['logging.googleapis.com/spanId']).toBe('00000000000000ff');
    }
  });

  it('from a W3C traceparent', async () => {
    const wamid = newWamid();
    const { published: sent, logged } = await callback([wamid], { traceparent: `00-${TRACE}-00f067aa0ba902b7-00` });
    expect(sent[0]!.attributes.traceparent).toBe(`00-${TRACE}-00f067aa0ba902b7-00`);
    expect(logged[0]!['logging.googleapis.com/trace']).toBe(`projects/${PROJECT}/traces/${TRACE}`);
  });

  it('without a trace header: a new trace per callback, shared by its messages and its log lines', async () => {
    const first = await callback([newWamid(), newWamid()]);
    const second = await callback([newWamid()]);
    const traceOf = (attributes: Record<string, string>) => /^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$/.exec(attributes.traceparent ?? '')?.[1];

    expect(first.published).toHaveLength(2);
    const firstTrace = traceOf(first.published[0]!.attributes);
    expect(firstTrace).toBeDefined();
    expect(traceOf(first.published[1]!.attributes)).toBe(firstTrace);
    expect(first.logged).toHaveLength(2);
    for (const line of first.logged) expect(line['logging.googleapis.com/trace']).toBe(`projects/${PROJECT}/traces/${firstTrace}`);

    const secondTrace = traceOf(second.published[0]!.attributes);
    expect(secondTrace).toBeDefined();
    expect(secondTrace).not.toBe(firstTrace);
  });

  it('stamps when the callback arrived, for the reply latency', async () => {
    const { before, after, published: sent } = await callback([newWamid()]);
    const receivedAt = Date.parse(sent[0]!.attributes.receivedAt ?? '');
    expect(receivedAt).toBeGreaterThanOrEqual(before);
    expect(receivedAt).toBeLessThanOrEqual(after);
  });
});
