import { performance } from 'node:perf_hooks';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import fc from 'fast-check';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { freePort } from '../../local/freePort.js';
import { startFunction } from '../../local/functionProcess.js';
import type { LocalStack } from '../../local/stack.js';
import { signatureFor } from '../../shared/whatsapp/signature.js';
import { newWamid, textWebhook, toMetaJson } from '../../local/webhookBodies.js';
import { describeWithEmulators, startTestStack } from '../integration/testStack.js';
import { makeUsers, sleep, textsTo } from './helpers.js';

const FOUR_MIB = 4 * 1024 * 1024;

describeWithEmulators('reliability: the webhook edge under bad input', () => {
  let stack: LocalStack;
  let pubsub: PubSub;
  let probe: Subscription;
  /** Every message the webhook published to the inbound topic, by wamid, seen by a second subscription. */
  const published: string[] = [];

  beforeAll(async () => {
    stack = await startTestStack();
    pubsub = new PubSub({ projectId: stack.projectId });
    [probe] = await pubsub.topic(stack.layout.topic).createSubscription('edge-probe');
    probe.on('message', (message: Message) => {
      published.push(message.attributes.wamid ?? '(no wamid)');
      message.ack();
    });
  });
  afterAll(async () => {
    await probe?.close();
    await pubsub?.close();
    await stack?.stop();
  });
  beforeEach(() => {
    stack.sandbox!.reset();
    stack.agent!.reset();
  });

  async function post(body: string | Buffer, options: { contentType?: string; signature?: string | null; url?: string } = {}) {
    const signature = options.signature === undefined ? signatureFor(body, stack.env.WHATSAPP_APP_SECRET!) : options.signature;
    const headers: Record<string, string> = {};
    if (options.contentType !== undefined) headers['content-type'] = options.contentType;
    if (signature !== null) headers['x-hub-signature-256'] = signature;
    const started = performance.now();
    const response = await request(options.url ?? stack.webhookUrl, { method: 'POST', headers, body });
    const text = await response.body.text();
    return { status: response.statusCode, text, ms: performance.now() - started };
  }

  it('answers bad input with a clear 4xx, publishes none of it, and still answers the next valid message', async () => {
    const sandbox = stack.sandbox!;
    const [user] = makeUsers('edge', 1);
    const valid = toMetaJson(textWebhook(user!, 'valid after the junk'));
    const oversized = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [],
      padding: 'x'.repeat(FOUR_MIB + 1024),
    });
    const before = published.length;

    const cases: [string, Promise<{ status: number }>, number][] = [
      ['body over 4 MiB', post(oversized, { contentType: 'application/json' }), 413],
      ['text/plain', post(valid, { contentType: 'text/plain' }), 415],
      ['form-urlencoded', post('a=1&b=2', { contentType: 'application/x-www-form-urlencoded' }), 415],
      ['no content type', post(valid), 415],
      ['malformed JSON', post('{"object":"whatsapp_business_account","entry":[', { contentType: 'application/json' }), 400],
      ['non-WhatsApp JSON', post('{"hello":"world"}', { contentType: 'application/json' }), 400],
      ['another app’s webhook', post('{"object":"instagram","entry":[]}', { contentType: 'application/json' }), 400],
      ['JSON array', post('[1,2,3]', { contentType: 'application/json' }), 400],
    ];
    const results: string[] = [];
    for (const [name, pending, expected] of cases) {
      const { status } = await pending;
      results.push(`${name} → ${status}`);
      expect(status, name).toBe(expected);
    }
    await sleep(1000);
    const publishedByJunk = published.length - before;

    const wamid = newWamid();
    const ok = await post(toMetaJson(textWebhook(user!, 'valid after the junk', { wamid })), { contentType: 'application/json' });
    expect(ok.status).toBe(200);
    await sandbox.waitFor(() => textsTo(sandbox, user!.phone).length > 0, 20_000);
    await sleep(1000);
    console.log(
      `edge: ${results.join(', ')}; published by those: ${publishedByJunk}; ` +
        `then a valid message → ${ok.status}, published ${published.slice(before).length} (its wamid: ${published.includes(wamid)}), ` +
        `reply ${JSON.stringify(textsTo(sandbox, user!.phone))}; webhook alive: ${stack.webhook.child.exitCode === null}`,
    );
    expect(publishedByJunk).toBe(0);
    expect(published.slice(before)).toEqual([wamid]);
    expect(textsTo(sandbox, user!.phone)).toEqual(['Echo #1: valid after the junk']);
    expect(stack.webhook.child.exitCode).toBeNull();
  });

  it('answers 503 when Pub/Sub fails (topic missing, emulator unreachable), so Meta retries', async () => {
    // Two more webhook processes, configured like the stack's but with a broken Pub/Sub.
    const [missingTopic, unreachable] = await Promise.all([
      startFunction({ target: 'webhook', port: await freePort(), env: { ...stack.env, PUBSUB_TOPIC: 'no-such-topic' } }),
      startFunction({
        target: 'webhook',
        port: await freePort(),
        env: { ...stack.env, PUBSUB_EMULATOR_HOST: `127.0.0.1:${await freePort()}`, PUBLISH_TIMEOUT_MS: '2000' },
      }),
    ]);
    try {
      const [user] = makeUsers('nopubsub', 1);
      const send = (url: string, text: string) =>
        post(toMetaJson(textWebhook(user!, text)), { contentType: 'application/json', url: `${url}/webhook` });
      const [first, second, third] = [await send(missingTopic.url, 'anyone?'), await send(missingTopic.url, 'anyone now?'), await send(unreachable.url, 'hello?')];
      const health = await Promise.all([missingTopic, unreachable].map(async (webhook) => {
        const response = await request(`${webhook.url}/healthz`);
        await response.body.dump();
        return response.statusCode;
      }));
      console.log(
        `pubsub failing: topic missing → ${first.status} in ${first.ms.toFixed(0)} ms, again → ${second.status} in ${second.ms.toFixed(0)} ms; ` +
          `emulator unreachable (PUBLISH_TIMEOUT_MS=2000) → ${third.status} in ${third.ms.toFixed(0)} ms; ` +
          `processes alive: ${missingTopic.child.exitCode === null && unreachable.child.exitCode === null}, healthz ${health.join('/')}`,
      );
      expect([first.status, second.status, third.status]).toEqual([503, 503, 503]);
      expect(first.ms).toBeLessThan(2000);
      expect(second.ms).toBeLessThan(2000);
      expect(missingTopic.child.exitCode).toBeNull();
      expect(unreachable.child.exitCode).toBeNull();
      expect(health).toEqual([200, 200]);
      for (const webhook of [missingTopic, unreachable]) {
        expect(webhook.lines.some((line) => line.includes('publish to Pub/Sub failed'))).toBe(true);
      }
    } finally {
      await Promise.all([missingTopic.stop(), unreachable.stop()]);
    }
  });

  it('never answers 5xx nor crashes for hundreds of generated bodies, content types and signatures', async () => {
    const secret = stack.env.WHATSAPP_APP_SECRET!;
    const [user] = makeUsers('fuzz', 1);
    const template = textWebhook(user!, 'fuzz') as Record<string, unknown>;
    const paths = [
      [],
      ['object'],
      ['entry'],
      ['entry', 0],
      ['entry', 0, 'changes'],
      ['entry', 0, 'changes', 0],
      ['entry', 0, 'changes', 0, 'field'],
      ['entry', 0, 'changes', 0, 'value'],
      ['entry', 0, 'changes', 0, 'value', 'metadata'],
      ['entry', 0, 'changes', 0, 'value', 'contacts'],
      ['entry', 0, 'changes', 0, 'value', 'messages'],
      ['entry', 0, 'changes', 0, 'value', 'messages', 0],
      ['entry', 0, 'changes', 0, 'value', 'messages', 0, 'id'],
      ['entry', 0, 'changes', 0, 'value', 'messages', 0, 'from'],
      ['entry', 0, 'changes', 0, 'value', 'messages', 0, 'type'],
      ['entry', 0, 'changes', 0, 'value', 'messages', 0, 'text'],
      ['entry', 0, 'changes', 0, 'value', 'messages', 0, 'timestamp'],
      ['entry', 0, 'changes', 0, 'value', 'statuses'],
      ['entry', 0, 'changes', 0, 'value', 'errors'],
    ] as (string | number)[][];
    const mutated = fc
      .tuple(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 3 }), fc.boolean())
      .map(([path, value, remove]) => {
        const copy = structuredClone(template) as Record<string | number, unknown>;
        if (path.length === 0) return JSON.stringify(value);
        let node: Record<string | number, unknown> = copy;
        for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
        if (remove) delete node[path.at(-1)!];
        else node[path.at(-1)!] = value;
        return toMetaJson(copy);
      });
    const body = fc.oneof(
      { weight: 3, arbitrary: mutated },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
      { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
      { weight: 1, arbitrary: fc.constantFrom('', '{', '[]', 'null', '"x"', '{"object":"whatsapp_business_account"}', '{"object":"whatsapp_business_account","entry":null}', '{"__proto__":{"x":1}}', '['.repeat(5000)) },
    );
    const contentType = fc.oneof(
      { weight: 8, arbitrary: fc.constant<string | undefined>('application/json') },
      {
        weight: 4,
        arbitrary: fc.constantFrom<string | undefined>(
          'application/json; charset=utf-8',
          'application/json; charset=utf-16',
          'application/json; charset=nonsense',
          'APPLICATION/JSON',
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/octet-stream',
          'multipart/form-data; boundary=x',
          '',
          undefined,
        ),
      },
    );
    const signature = fc.oneof(
      { weight: 4, arbitrary: fc.constant('valid') },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
      { weight: 1, arbitrary: fc.stringMatching(/^sha256=[0-9a-f]{64}$/) },
      { weight: 1, arbitrary: fc.constantFrom('sha256=', 'sha1=abc', 'SHA256=' + 'a'.repeat(64), 'sha256=' + 'G'.repeat(64)) },
    );
    const path = fc.constantFrom('/webhook', '/', '/webhook/', '/webhook?x=1');

    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(body, contentType, signature, path, async (raw, type, sig, where) => {
        runs += 1;
        const bytes = typeof raw === 'string' ? Buffer.from(raw) : raw;
        const headers: Record<string, string> = {};
        if (type !== undefined) headers['content-type'] = type;
        if (sig === 'valid') headers['x-hub-signature-256'] = signatureFor(bytes, secret);
        else if (sig !== null) headers['x-hub-signature-256'] = sig.replace(/[^\x20-\x7e]/g, '?');
        const url = stack.webhookUrl.replace(/\/webhook$/, where);
        const response = await request(url, { method: 'POST', headers, body: bytes });
        await response.body.dump();
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        if (response.statusCode >= 500) failures.push(`${response.statusCode} for ${type} ${sig} ${bytes.toString().slice(0, 120)}`);
        return response.statusCode < 500;
      }),
      { numRuns: 400 },
    );
    const health = await request(stack.webhookUrl.replace(/\/webhook$/, '/healthz'));
    await health.body.dump();
    console.log(
      `fuzz: ${runs} generated requests → statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; ` +
        `5xx: ${failures.length}; webhook alive: ${stack.webhook.child.exitCode === null}, healthz ${health.statusCode}`,
    );
    expect(failures).toEqual([]);
    expect([...statuses.keys()].every((status) => [200, 400, 401, 404, 413, 415].includes(status))).toBe(true);
    expect(stack.webhook.child.exitCode).toBeNull();
    expect(health.statusCode).toBe(200);
  });
});
