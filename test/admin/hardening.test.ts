import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { freePort } from '../../local/freePort.js';
import { startFunction, type FunctionProcess } from '../../local/functionProcess.js';
import { signatureFor } from '../../shared/whatsapp/signature.js';
import { DEFAULT_PHONE_NUMBER_ID, newWamid, statusWebhook, textWebhook, toMetaJson } from '../../local/webhookBodies.js';
import { describeWithEmulators, postWebhook, startTestStack } from '../integration/testStack.js';

const newUser = () => ({ phone: `5255${randomInt(10_000_000, 99_999_999)}`, name: 'Test' });

/** A Pub/Sub push request carrying one inbound text message, as the subscription would send it. */
function pushEnvelope(phone: string, text: string) {
  const message = {
    v: 1,
    wamid: newWamid(),
    userId: phone,
    phone,
    phoneNumberId: DEFAULT_PHONE_NUMBER_ID,
    timestamp: Math.floor(Date.now() / 1000),
    content: { kind: 'text', text },
  };
  return {
    message: { data: Buffer.from(JSON.stringify(message)).toString('base64'), messageId: String(randomInt(1e9)), attributes: {} },
    subscription: 'projects/p/subscriptions/whatsapp-inbound-worker',
  };
}

describeWithEmulators('a hardened edge', () => {
  let stack: LocalStack;
  const started: FunctionProcess[] = [];

  beforeAll(async () => {
    // No ADMIN_API_TOKEN: the admin routes must not exist.
    stack = await startTestStack();
  });
  afterAll(async () => {
    await Promise.all(started.map((process) => process.stop()));
    await stack?.stop();
  });

  /** Starts one more copy of a function on its own port, with `env` over the stack's settings. */
  async function launch(target: 'webhook' | 'worker', env: Record<string, string | undefined>): Promise<FunctionProcess> {
    const process = await startFunction({ target, port: await freePort(), env: { ...stack.env, ...env } });
    started.push(process);
    return process;
  }

  describe('webhook start-up', () => {
    it('refuses to start without WHATSAPP_APP_SECRET, naming it', async () => {
      for (const secret of [undefined, '']) {
        const start = launch('webhook', { WHATSAPP_APP_SECRET: secret });
        await expect(start).rejects.toThrow(/webhook exited with code [1-9]/);
        await expect(start).rejects.toThrow(/WHATSAPP_APP_SECRET/);
      }
    });

    it('refuses ALLOW_UNSIGNED_WEBHOOKS=true away from the Pub/Sub emulator', async () => {
      const start = launch('webhook', {
        WHATSAPP_APP_SECRET: undefined,
        ALLOW_UNSIGNED_WEBHOOKS: 'true',
        PUBSUB_EMULATOR_HOST: undefined,
      });
      await expect(start).rejects.toThrow(/webhook exited with code [1-9]/);
      await expect(start).rejects.toThrow(/ALLOW_UNSIGNED_WEBHOOKS.*PUBSUB_EMULATOR_HOST/);
    });

    it('starts unsigned only with ALLOW_UNSIGNED_WEBHOOKS=true and the emulator, saying so loudly', async () => {
      const unsigned = await launch('webhook', { WHATSAPP_APP_SECRET: undefined, ALLOW_UNSIGNED_WEBHOOKS: 'true' });
      const warning = unsigned.lines
        .map((line) => {
          try {
            return JSON.parse(line) as { severity?: string; message?: string };
          } catch {
            return {};
          }
        })
        .find((entry) => /NOT CHECKED/.test(entry.message ?? ''));
      expect(warning?.message).toMatch(/ALLOW_UNSIGNED_WEBHOOKS/);
      expect(['WARNING', 'ERROR', 'CRITICAL']).toContain(warning?.severity);

      // It really is unsigned: a POST without a signature goes all the way to a reply.
      const user = newUser();
      const response = await fetch(`${unsigned.url}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: toMetaJson(textWebhook(user, 'sin firma')),
      });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      const sandbox = stack.sandbox!;
      await sandbox.waitFor(() => sandbox.sent().find((message) => message.to === `+${user.phone}`), 45_000);

      // The signed stack's webhook, meanwhile, still refuses the same request.
      expect((await postWebhook(stack, textWebhook(newUser(), 'sin firma'), { signature: null })).status).toBe(401);
    });
  });

  describe('webhook requests', () => {
    it('answers 404 on the admin routes when ADMIN_API_TOKEN is unset, whatever the token', async () => {
      const base = stack.webhookUrl.replace(/\/webhook$/, '');
      for (const authorization of [undefined, 'Bearer ', 'Bearer undefined', 'Bearer null']) {
        for (const [method, path] of [
          ['GET', '/whatsapp/sessions'],
          ['GET', '/whatsapp/sessions/5491155550001'],
          ['DELETE', '/whatsapp/sessions/+5491155550001'],
        ] as const) {
          const response = await fetch(`${base}${path}`, { method, headers: authorization ? { authorization } : {} });
          expect(response.status, `${method} ${path} with ${authorization ?? 'no header'}`).toBe(404);
          await response.arrayBuffer();
        }
      }
    });

    it('answers 413 over 4 MiB, and accepts a 3.5 MiB batch (Meta sends up to ~3 MB)', async () => {
      const padded = (bytes: number) => {
        const body = statusWebhook({ wamid: newWamid(), status: 'delivered', recipient: newUser().phone }) as {
          entry: { changes: { value: Record<string, unknown> }[] }[];
        };
        body.entry[0]!.changes[0]!.value.padding = 'x'.repeat(bytes);
        return toMetaJson(body);
      };
      expect((await postWebhook(stack, padded(3.5 * 1024 * 1024))).status).toBe(200);
      const tooBig = padded(4 * 1024 * 1024 + 1);
      expect((await postWebhook(stack, tooBig)).status).toBe(413);
      // Unsigned and oversized: refused either way, never accepted.
      expect([401, 413]).toContain((await postWebhook(stack, tooBig, { signature: null })).status);
    });

    it('answers 400 to a signed body that is not a WhatsApp webhook', async () => {
      for (const raw of ['{"object":"page","entry":[]}', '[]', '{"hello":"world"}']) {
        expect((await postWebhook(stack, raw, { signature: signatureFor(raw, stack.env.WHATSAPP_APP_SECRET!) })).status).toBe(400);
      }
    });
  });

  describe('worker requests', () => {
    it('answers 400 to a POST that is not a Pub/Sub push envelope, and processes nothing', async () => {
      const callsBefore = stack.agent!.calls.length;
      const whatsappBody = textWebhook(newUser(), 'direct to the worker');
      const { message } = pushEnvelope(newUser().phone, 'no subscription');
      for (const [contentType, body] of [
        ['application/json', '{}'],
        ['application/json', '[]'],
        ['application/json', JSON.stringify(whatsappBody)],
        ['application/json', JSON.stringify({ message })],
        ['application/json', JSON.stringify({ message: { data: '' }, subscription: 's' })],
        ['text/plain', 'hello'],
      ] as const) {
        const response = await fetch(stack.workerUrl, { method: 'POST', headers: { 'content-type': contentType }, body });
        expect(response.status, body).toBe(400);
        await response.arrayBuffer();
      }
      expect(stack.agent!.calls.length).toBe(callsBefore);
    });

    it('answers 405 to anything but POST', async () => {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const response = await fetch(stack.workerUrl, { method });
        expect(response.status, method).toBe(405);
        await response.arrayBuffer();
      }
    });

    it('with PUSH_AUDIENCE set, refuses a push without a valid OIDC token before touching the message', async () => {
      const worker = await launch('worker', { PUSH_AUDIENCE: `${stack.workerUrl}/` });
      const phone = newUser().phone;
      for (const authorization of [undefined, 'Bearer not-a-google-token']) {
        const response = await fetch(worker.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          body: JSON.stringify(pushEnvelope(phone, 'sin token')),
        });
        expect(response.status, authorization ?? 'no header').toBe(401);
        await response.arrayBuffer();
      }
      expect(stack.agent!.calls.some((call) => call.userId === phone)).toBe(false);
      // The refusal is logged as the response goes out: wait for both lines.
      const deadline = Date.now() + 10_000;
      const refusalsIn = () => worker.lines.filter((line) => line.includes('push request refused'));
      while (refusalsIn().length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      const refusals = refusalsIn();
      expect(refusals).toHaveLength(2);
      expect(refusals.join('\n')).not.toContain('not-a-google-token');
    });
  });
});
