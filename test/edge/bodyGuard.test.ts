import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createGzip } from 'node:zlib';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { freePort } from '../../local/freePort.js';
import { startFunction, type FunctionProcess } from '../../local/functionProcess.js';
import { MAX_WEBHOOK_BYTES } from '../../functions/webhook/webhook.js';
import { signatureFor } from '../../shared/whatsapp/signature.js';
import { newWamid, textWebhook, toMetaJson } from '../../local/webhookBodies.js';
import { describeWithEmulators } from '../integration/testStack.js';

const MiB = 1024 * 1024;
const SECRET = 'guard-test-secret';

/** ~300 KB of gzip that inflates to 300 MiB: what an anonymous caller can send today. */
async function gzipBomb(): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise((resolve) => gzip.on('end', resolve));
  const block = Buffer.alloc(MiB, ' ');
  gzip.write('{"object":"whatsapp_business_account","entry":[],"padding":"');
  for (let i = 0; i < 300; i++) {
    if (!gzip.write(block)) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  gzip.end('"}');
  await done;
  return Buffer.concat(chunks);
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} for ${pid}`);
  return Number(match[1]) * 1024;
}

interface Answer {
  status: number;
  text: string;
  ms: number;
}

/**
 * Sends a request with node:http and resolves on the answer, even when the server answers and
 * closes before the body is sent (`write` streams the body, if any, and may be cut off).
 */
function send(
  url: string,
  headers: Record<string, string>,
  write: (req: ReturnType<typeof httpRequest>) => Promise<void> | void,
): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers });
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), ms: performance.now() - started }),
      );
    });
    // The server drops the connection once it has answered: a write after that fails, the answer stands.
    req.on('error', (error) => setTimeout(() => reject(error), 2000));
    setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within 5 s`));
    }, 5000).unref();
    void Promise.resolve(write(req)).catch(() => undefined);
  });
}

/** Peak RSS growth of `pid` while `action` runs: the kernel's high-water mark, reset first. */
async function rssGrowth<T>(pid: number, action: () => Promise<T>): Promise<{ result: T; growth: number }> {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const before = procStatus(pid, 'VmRSS');
  const result = await action();
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { result, growth: procStatus(pid, 'VmHWM') - before };
}

describeWithEmulators('the webhook bounds its work before the signature (a real functions-framework process)', () => {
  const emulators = inject('emulators') as { pubsubHost: string };
  const projectId = `guard-${randomUUID().slice(0, 8)}`;
  const topic = 'whatsapp-inbound';
  let webhook: FunctionProcess;
  let subscription: Subscription;
  const published: string[] = [];
  let url: string;

  beforeAll(async () => {
    const pubsub = new PubSub({ projectId, apiEndpoint: emulators.pubsubHost, emulatorMode: true });
    const [created] = await pubsub.createTopic(topic);
    [subscription] = await created.createSubscription(`${topic}-check`);
    subscription.on('message', (message: Message) => {
      published.push((JSON.parse(message.data.toString()) as { wamid: string }).wamid);
      message.ack();
    });
    webhook = await startFunction({
      target: 'webhook',
      port: await freePort(),
      env: {
        GOOGLE_CLOUD_PROJECT: projectId,
        PUBSUB_EMULATOR_HOST: emulators.pubsubHost,
        PUBSUB_TOPIC: topic,
        WHATSAPP_VERIFY_TOKEN: 'verify',
        WHATSAPP_APP_SECRET: SECRET,
        // As deployed before NODE_ENV=production was set: error pages must not depend on it.
        NODE_ENV: undefined,
        LOG_LEVEL: 'info',
      },
    });
    url = `${webhook.url}/webhook`;
  });
  afterAll(async () => {
    await webhook?.stop();
    await subscription?.close();
  });

  it('refuses a gzip bomb (300 KB → 300 MiB) at once with 415, without inflating it', async () => {
    const bomb = await gzipBomb();
    expect(bomb.length).toBeLessThan(400_000);
    const { result, growth } = await rssGrowth(webhook.child.pid!, () =>
      send(
        url,
        {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'content-length': String(bomb.length),
          'x-hub-signature-256': signatureFor(bomb, 'not-the-secret'),
        },
        (req) => void req.end(bomb),
      ),
    );
    console.log(`gzip bomb (${bomb.length} B): ${result.status} in ${result.ms.toFixed(0)} ms, RSS +${(growth / MiB).toFixed(1)} MiB`);
    expect(result.status).toBe(415);
    expect(result.ms).toBeLessThan(1000);
    expect(growth).toBeLessThan(32 * MiB);
  });

  it('refuses a declared 64 MiB body with 413 before a byte of it is sent', async () => {
    const { result, growth } = await rssGrowth(webhook.child.pid!, () =>
      send(url, { 'content-type': 'application/json', 'content-length': String(64 * MiB) }, (req) => req.flushHeaders()),
    );
    console.log(`declared 64 MiB: ${result.status} in ${result.ms.toFixed(0)} ms, RSS +${(growth / MiB).toFixed(1)} MiB`);
    expect(result.status).toBe(413);
    expect(result.ms).toBeLessThan(1000);
    expect(growth).toBeLessThan(32 * MiB);
  });

  it('refuses a chunked body (no length) with 413 as soon as it passes the limit, before it ends', async () => {
    // One byte over and no end: the answer can only come from a cap enforced while streaming. (Not
    // more: the server drops the connection once it has answered, and what the client sends after
    // that resets the connection before the client reads the answer.)
    const { result, growth } = await rssGrowth(webhook.child.pid!, () =>
      send(url, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, async (req) => {
        const block = Buffer.alloc(MiB, ' ');
        for (let i = 0; i < MAX_WEBHOOK_BYTES / MiB; i++) {
          if (!req.write(block)) await new Promise((resolve) => req.once('drain', resolve));
        }
        req.write(' ');
      }),
    );
    console.log(`chunked, 4 MiB + 1 B: ${result.status} in ${result.ms.toFixed(0)} ms, RSS +${(growth / MiB).toFixed(1)} MiB`);
    expect(result.status).toBe(413);
    expect(result.ms).toBeLessThan(1000);
    expect(growth).toBeLessThan(32 * MiB);
  });

  it('still takes a normal signed webhook to Pub/Sub, and a chunked one under the limit', async () => {
    for (const chunked of [false, true]) {
      const wamid = newWamid();
      const raw = toMetaJson(textWebhook({ phone: '5491155550123', name: 'Ana' }, 'hola', { wamid }));
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-hub-signature-256': signatureFor(raw, SECRET),
        ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(Buffer.byteLength(raw)) }),
      };
      const answer = await send(url, headers, (req) => {
        // Two writes, so a chunked body really arrives in pieces.
        const half = Math.floor(raw.length / 2);
        req.write(raw.slice(0, half));
        req.end(raw.slice(half));
      });
      expect(answer).toMatchObject({ status: 200, text: 'EVENT_RECEIVED' });
      await expect.poll(() => published, { timeout: 20_000 }).toContain(wamid);
    }
  });

  it('answers errors without a stack trace or a file path, with NODE_ENV unset', async () => {
    const leaks = /\bat \S+ \(|node_modules|\/work\/|\.ts:\d|\.js:\d|<html|<pre/i;
    // Unsigned, malformed JSON: today the framework's parser answered an HTML page with the stack.
    const malformed = await send(url, { 'content-type': 'application/json' }, (req) => void req.end('{"object":'));
    expect(malformed.status).toBe(401);
    expect(malformed.text).not.toMatch(leaks);
    const signedMalformed = await send(
      url,
      { 'content-type': 'application/json', 'x-hub-signature-256': signatureFor('{"object":', SECRET) },
      (req) => void req.end('{"object":'),
    );
    expect(signedMalformed.status).toBe(400);
    expect(signedMalformed.text).not.toMatch(leaks);
    // A path Express cannot decode fails inside the framework, before any function code.
    const undecodable = await fetch(`${webhook.url}/%E0%A4%A`);
    const text = await undecodable.text();
    expect(undecodable.status).toBe(400);
    expect(text).not.toMatch(leaks);
    expect(text).toBe('Bad Request');
  });
});
