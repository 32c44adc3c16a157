import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import { describe, inject } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/stack.js';
import { signatureFor } from '../../shared/whatsapp/signature.js';
import { toMetaJson } from '../../local/webhookBodies.js';
import { waitForLine } from '../reliability/helpers.js';

const emulators = inject('emulators');

/** `describe` when the emulators run; otherwise a skip that says why, loudly. */
export function describeWithEmulators(name: string, body: () => void): void {
  if ('skipReason' in emulators) {
    console.warn(`SKIPPED "${name}": ${emulators.skipReason}`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}

/** A full local stack on the shared emulators, isolated under its own project id. */
export async function startTestStack(env: Record<string, string> = {}): Promise<LocalStack> {
  if ('skipReason' in emulators) throw new Error(emulators.skipReason);
  const stack = await startLocalStack({
    reuseEmulators: true,
    env: {
      GOOGLE_CLOUD_PROJECT: `test-${randomUUID().slice(0, 8)}`,
      PUBSUB_EMULATOR_HOST: emulators.pubsubHost,
      FIRESTORE_EMULATOR_HOST: emulators.firestoreHost,
      LOG_LEVEL: 'debug',
      // Suites of the one-turn-per-message path; burst suites set their own window.
      BURST_WINDOW_MS: '0',
      ...env,
    },
    ...(process.env.STACK_LOGS ? { log: (line: string) => console.log(line) } : {}),
  });
  // Once started, the worker builds its adapters, warms its connections and logs each (at info).
  // Those lines belong to no message, and suites read a message's path from the lines written while
  // it runs: hand the stack over once they are out.
  if (['debug', 'info'].includes(env.LOG_LEVEL ?? 'debug')) {
    for (const connection of ['firestore', 'agent']) {
      await waitForLine(stack.worker.lines, (line) => line.includes(`"connection":"${connection}"`), 60_000);
    }
  }
  return stack;
}

/** POSTs a webhook body the way Meta does: Meta's JSON escaping, signed over the exact bytes. */
export async function postWebhook(
  stack: LocalStack,
  body: unknown,
  options: { signature?: string | null; headers?: Record<string, string> } = {},
) {
  const raw = typeof body === 'string' ? body : toMetaJson(body);
  const signature =
    options.signature === undefined ? signatureFor(raw, stack.env.WHATSAPP_APP_SECRET!) : options.signature;
  const response = await request(stack.webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
      ...options.headers,
    },
    body: raw,
  });
  return { status: response.statusCode, text: await response.body.text() };
}
