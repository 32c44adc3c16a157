import { randomInt, randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { maskUserId } from '../../shared/log/maskUserId.js';
import { newWamid, statusWebhook, textWebhook, type WebhookSender } from '../../local/webhookBodies.js';
import { describeWithEmulators, postWebhook, startTestStack } from '../integration/testStack.js';

const SECRETS = {
  WHATSAPP_APP_SECRET: `appsecret-${randomUUID()}`,
  WHATSAPP_VERIFY_TOKEN: `verify-${randomUUID()}`,
  ADMIN_API_TOKEN: `admin-${randomUUID()}`,
};

type User = WebhookSender & { phone: string; key: string };

/** Mexican numbers, as in the masking example; BSUID-keyed or phone-keyed. */
function newUser(bsuid: boolean): User {
  const phone = `521${randomInt(1_000_000_000, 9_999_999_999)}`;
  const userId = bsuid ? `MX.${randomInt(1e9, 1e10 - 1)}${randomInt(1e9, 1e10 - 1)}` : undefined;
  return { phone, name: 'Cliente', ...(userId ? { userId } : {}), key: userId ?? phone };
}

/** What Node itself writes to stderr for a process warning, and its follow-up hint. */
const NODE_WARNING = /^\(node:\d+\) \w*Warning: |^\(Use `node --trace-warnings/;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithEmulators('log hygiene over a full conversation, failures included', () => {
  let stack: LocalStack;
  let db: Firestore;
  let adminUrl: string;
  const users = { ana: newUser(true), beto: newUser(false), caro: newUser(true), dani: newUser(false), eva: newUser(true) };
  /** The lines each message's handling wrote, from both functions, keyed by wamid. */
  const paths = new Map<string, { user: User; lines: string[] }>();

  beforeAll(async () => {
    stack = await startTestStack({ ...SECRETS, ADMIN_API_TOKEN: SECRETS.ADMIN_API_TOKEN });
    db = new Firestore({ projectId: stack.projectId });
    adminUrl = stack.webhookUrl.replace(/\/webhook$/, '/whatsapp/sessions');
  });
  afterAll(async () => {
    await db?.terminate();
    await stack?.stop();
  });

  const allLines = () => [...stack.webhook.lines, ...stack.worker.lines];

  async function settled(wamid: string, timeoutMs = 45_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const state = (await db.collection('inbound_messages').doc(wamid).get()).get('state') as string | undefined;
      if (state === 'answered' || state === 'failed') return state;
      if (Date.now() > deadline) {
        const tail = (lines: string[]) => lines.slice(-15).join('\n');
        throw new Error(
          `${wamid} not settled within ${timeoutMs} ms (state ${state})\n--- webhook:\n${tail(stack.webhook.lines)}\n--- worker:\n${tail(stack.worker.lines)}`,
        );
      }
      await sleep(100);
    }
  }

  async function waitForLine(lines: string[], from: number, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!lines.slice(from).some((line) => pattern.test(line))) {
      if (Date.now() > deadline) throw new Error(`no log line matching ${pattern}:\n${lines.slice(from).join('\n')}`);
      await sleep(50);
    }
  }

  /**
   * One message, alone on the stack, from the POST until its record settles and its last log line
   * (`finalLine`) is written; keeps every line both functions wrote meanwhile as the message's path.
   */
  async function converse(user: User, text: string, finalLine: RegExp, setup?: () => void): Promise<string> {
    const fromWebhook = stack.webhook.lines.length;
    const fromWorker = stack.worker.lines.length;
    setup?.();
    const wamid = newWamid();
    expect((await postWebhook(stack, textWebhook(user, text, { wamid }))).status).toBe(200);
    await settled(wamid);
    await waitForLine(stack.worker.lines, fromWorker, finalLine);
    // Let a late line (a read receipt's failure, a duplicate push) land inside this window.
    await sleep(300);
    paths.set(wamid, {
      user,
      lines: [...stack.webhook.lines.slice(fromWebhook), ...stack.worker.lines.slice(fromWorker)],
    });
    return wamid;
  }

  async function admin(method: string, path: string, token: string | null) {
    const response = await fetch(`${adminUrl}${path}`, {
      method,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });
    await response.arrayBuffer();
    return response.status;
  }

  describe('the conversation', () => {
    it('a plain exchange', async () => {
      const handshake = await fetch(
        `${stack.webhookUrl}?hub.mode=subscribe&hub.verify_token=${SECRETS.WHATSAPP_VERIFY_TOKEN}&hub.challenge=42`,
      );
      expect(handshake.status).toBe(200);
      await handshake.arrayBuffer();
      const refused = await fetch(`${stack.webhookUrl}?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=42`);
      expect(refused.status).toBe(403);
      await refused.arrayBuffer();
      // Their lines must land before the first message's window opens.
      await waitForLine(stack.webhook.lines, 0, /webhook subscription verified/);
      await waitForLine(stack.webhook.lines, 0, /webhook verification refused/);

      await converse(users.ana, 'Hola, mi número es +' + users.ana.phone, /reply sent/);
      await converse(users.ana, 'Segunda pregunta', /reply sent/);
    });

    it('a Graph 190 (expired token) on the reply: failed for good', async () => {
      const wamid = await converse(users.beto, 'Hola', /failed permanently/, () =>
        stack.sandbox!.failNext({ status: 401, code: 190, only: 'send' }),
      );
      expect((await db.collection('inbound_messages').doc(wamid).get()).get('state')).toBe('failed');
    });

    it('a Graph 500 on the reply: retried by Pub/Sub, then sent', async () => {
      await converse(users.caro, 'Hola', /reply sent/, () => stack.sandbox!.failNext({ status: 500, code: 1, only: 'send' }));
      const path = [...paths.values()].at(-1)!;
      expect(path.lines.some((line) => line.includes('attempt failed: Pub/Sub will retry'))).toBe(true);
    });

    it('an agent failure: retried, then answered', async () => {
      await converse(users.dani, 'Hola', /reply sent/, () => stack.agent!.failNext(1, grpc.status.UNAVAILABLE));
      const path = [...paths.values()].at(-1)!;
      expect(path.lines.some((line) => line.includes('"reason":"agent_unavailable"') || line.includes('attempt failed'))).toBe(true);
    });

    it('an agent failure that is permanent: the user gets the apology', async () => {
      await converse(users.dani, 'Otra', /failed permanently/, () => stack.agent!.failNext(1, grpc.status.PERMISSION_DENIED));
    });

    it('a forged webhook, a delivery-failure status and admin calls with wrong and right tokens', async () => {
      const forged = textWebhook(users.eva, `Soy ${users.eva.phone}`);
      expect((await postWebhook(stack, forged, { signature: `sha256=${'ab'.repeat(32)}` })).status).toBe(401);
      expect((await postWebhook(stack, forged, { signature: null })).status).toBe(401);
      expect(
        (await postWebhook(stack, statusWebhook({ wamid: newWamid(), status: 'failed', recipient: users.beto.phone, errorCode: 131047 })))
          .status,
      ).toBe(200);

      expect(await admin('GET', `/+${users.ana.phone}`, 'not-the-token')).toBe(401);
      expect(await admin('DELETE', `/${users.ana.phone}`, null)).toBe(401);
      expect(await admin('GET', '', `${SECRETS.ADMIN_API_TOKEN}-wrong`)).toBe(401);
      expect(await admin('GET', `/+${users.ana.phone}`, SECRETS.ADMIN_API_TOKEN)).toBe(200);
      expect(await admin('DELETE', `/+${users.ana.phone}`, SECRETS.ADMIN_API_TOKEN)).toBe(204);
      expect(await admin('DELETE', `/${users.caro.key}`, SECRETS.ADMIN_API_TOKEN)).toBe(204);
      await waitForLine(stack.webhook.lines, 0, /session reset by an operator/);
      await waitForLine(stack.webhook.lines, 0, /admin request refused/);
      await waitForLine(stack.webhook.lines, 0, /webhook signature rejected/);
      await waitForLine(stack.webhook.lines, 0, /outbound message failed to deliver/);
    });
  });

  describe('what the logs hold', () => {
    const forbidden = () => {
      const values: [string, string][] = [
        ['WHATSAPP_ACCESS_TOKEN', stack.env.WHATSAPP_ACCESS_TOKEN!],
        ['WHATSAPP_APP_SECRET', SECRETS.WHATSAPP_APP_SECRET],
        ['WHATSAPP_VERIFY_TOKEN', SECRETS.WHATSAPP_VERIFY_TOKEN],
        ['ADMIN_API_TOKEN', SECRETS.ADMIN_API_TOKEN],
      ];
      for (const [name, user] of Object.entries(users)) {
        // The bare digits cover `+digits` too.
        values.push([`${name}'s phone`, user.phone]);
      }
      return values;
    };

    it('covers both functions and every failure of the conversation', () => {
      const lines = allLines();
      for (const expected of [
        /webhook subscription verified/,
        /failed permanently/,
        /attempt failed: Pub\/Sub will retry/,
        /webhook signature rejected/,
        /admin request refused/,
        /session reset by an operator/,
        /outbound message failed to deliver/,
      ]) {
        expect(lines.some((line) => expected.test(line)), String(expected)).toBe(true);
      }
      expect(stack.webhook.lines.length).toBeGreaterThan(5);
      expect(stack.worker.lines.length).toBeGreaterThan(10);
    });

    it('holds no token, no secret and no full phone number in any line', () => {
      const leaks = allLines().flatMap((line) =>
        forbidden()
          .filter(([, value]) => line.includes(value))
          .map(([name]) => `${name} in: ${line.slice(0, 400)}`),
      );
      expect(leaks).toEqual([]);
    });

    it('shows users only masked, the way maskUserId writes them', () => {
      const lines = allLines().join('\n');
      expect(lines).toContain(maskUserId(users.ana.key));
      expect(lines).toContain(maskUserId(users.beto.key));
      expect(lines).toContain(`"user":"${maskUserId(users.beto.phone)}"`);
      // No full BSUID either: it identifies the user as well as the number does.
      const bsuidLeaks = Object.values(users)
        .filter((user) => user.userId && lines.includes(user.userId))
        .map((user) => user.userId);
      expect(bsuidLeaks).toEqual([]);
    });

    it('tags every line of one message’s path with its wamid and the masked user', () => {
      expect(paths.size).toBe(6);
      for (const [wamid, { user, lines }] of paths) {
        // Node's own process warnings (a metadata-server probe off Google Cloud) are not the bridge's log lines.
        const structured = lines.filter((line) => !NODE_WARNING.test(line)).map((line) => {
          try {
            return JSON.parse(line) as Record<string, unknown>;
          } catch {
            return { unstructured: line };
          }
        });
        // The path runs through both functions: the webhook's "queued" line and the worker's lines.
        const services = new Set(structured.map((entry) => (entry.serviceContext as { service?: string } | undefined)?.service));
        expect([...services].sort()).toEqual(['webhook', 'worker']);
        expect(structured.some((entry) => entry.message === 'inbound message queued')).toBe(true);
        const untagged = structured.filter((entry) => entry.wamid !== wamid || entry.user !== maskUserId(user.key));
        expect(untagged, `lines of ${wamid} without its wamid and masked user`).toEqual([]);
      }
    });
  });
});
