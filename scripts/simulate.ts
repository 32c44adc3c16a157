/**
 * `npm run simulate -- "Hola"`: sends a webhook like Meta's (signed over Meta's escaped bytes) to
 * the local stack and prints what the bot sent back through the sandbox.
 * SIMULATE_PHONE / SIMULATE_NAME pick the user, SIMULATE_PHONE_NUMBER_ID the business number it
 * writes to (AGENT_ENGINE_BY_NUMBER); WEBHOOK_PORT and SANDBOX_PORT find the stack.
 */
import { existsSync } from 'node:fs';
import { request } from 'undici';
import { signatureFor } from '../shared/whatsapp/signature.js';
import { DEFAULT_PHONE_NUMBER_ID, textWebhook, toMetaJson } from '../local/webhookBodies.js';
import { LOCAL_DEFAULTS } from '../local/stack.js';

if (existsSync('.env')) process.loadEnvFile('.env');

const text = process.argv.slice(2).join(' ').trim();
if (!text) {
  console.error('usage: npm run simulate -- "your message"');
  process.exit(2);
}
const phone = process.env.SIMULATE_PHONE ?? '15551230001';
const phoneNumberId = process.env.SIMULATE_PHONE_NUMBER_ID || DEFAULT_PHONE_NUMBER_ID;
const webhookUrl = `http://127.0.0.1:${process.env.WEBHOOK_PORT || 8080}/webhook`;
const sandboxUrl = `http://127.0.0.1:${process.env.SANDBOX_PORT || 8082}`;
const appSecret = process.env.WHATSAPP_APP_SECRET ?? LOCAL_DEFAULTS.WHATSAPP_APP_SECRET;
const timeoutMs = Number(process.env.SIMULATE_TIMEOUT_MS) || 60_000;

const replies = process.env.WHATSAPP_ACCESS_TOKEN ? undefined : watchReplies(phone);
const sentAt = Date.now();
const raw = toMetaJson(textWebhook({ phone, name: process.env.SIMULATE_NAME ?? 'Simulated User' }, text, { phoneNumberId }));
const response = await request(webhookUrl, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureFor(raw, appSecret) },
  body: raw,
}).catch((error: unknown) => {
  console.error(`Could not reach the webhook at ${webhookUrl} (is \`npm start\` running?): ${(error as Error).message}`);
  process.exit(1);
});
console.log(`webhook → ${response.statusCode} ${await response.body.text()} (${Date.now() - sentAt} ms)`);
if (response.statusCode !== 200) process.exit(1);
if (!replies) {
  console.log('WHATSAPP_ACCESS_TOKEN is set: the reply goes to the real WhatsApp number.');
  process.exit(0);
}
const got = await replies(sentAt);
process.exit(got ? 0 : 1);

/** Follows the sandbox's live event stream and prints the bot's messages to `phone`. */
function watchReplies(to: string) {
  const controller = new AbortController();
  const stream = request(`${sandboxUrl}/events`, { signal: controller.signal }).catch((error: unknown) => {
    console.error(`Could not reach the WhatsApp sandbox at ${sandboxUrl}: ${(error as Error).message}`);
    process.exit(1);
  });

  return async (since: number): Promise<boolean> => {
    const { body } = await stream;
    let buffer = '';
    let received = 0;
    let quiet: NodeJS.Timeout | undefined;
    const done = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        console.error(`No reply within ${timeoutMs / 1000} s.`);
        resolve(false);
      }, timeoutMs);
      body.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const frames = buffer.split('\n\n');
        buffer = frames.pop() ?? '';
        for (const frame of frames) {
          const data = frame.split('\n').find((line) => line.startsWith('data: '));
          if (!data) continue;
          const event = JSON.parse(data.slice('data: '.length)) as { kind: string; phone?: string; phoneNumberId?: string; text?: string; time?: number };
          if (event.kind !== 'sent' || event.phone?.replace(/^\+/, '') !== to || (event.time ?? 0) < since) continue;
          received += 1;
          console.log(`bot (${event.phoneNumberId}) → +${to} (${Date.now() - since} ms):\n${event.text ?? '[non-text message]'}\n`);
          clearTimeout(timer);
          clearTimeout(quiet);
          // Long answers come in several chunks: wait briefly for the rest.
          quiet = setTimeout(() => resolve(true), 1500);
        }
      });
    });
    const result = await done;
    controller.abort();
    return result && received > 0;
  };
}
