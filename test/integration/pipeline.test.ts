import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { signatureFor } from '../../shared/whatsapp/signature.js';
import { newWamid, statusWebhook, textWebhook, toMetaJson } from '../../local/webhookBodies.js';
import { startLocalAgent } from '../../local/agent/localAgent.js';
import { startWhatsAppSandbox } from '../../local/sandbox/whatsappSandbox.js';
import { describeWithEmulators, postWebhook, startTestStack } from './testStack.js';

const ana = { phone: '5491155550001', name: 'Ana Pérez', userId: 'AR.13491208655302741918' };

describeWithEmulators('signed webhook → Pub/Sub → worker → agent → WhatsApp reply', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(() => {
    stack.sandbox!.reset();
    stack.agent!.reset();
  });

  it('answers Meta’s handshake only with the right verify token', async () => {
    const ok = await request(
      `${stack.webhookUrl}?hub.mode=subscribe&hub.verify_token=${stack.env.WHATSAPP_VERIFY_TOKEN}&hub.challenge=1158201444`,
    );
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
    expect(await ok.body.text()).toBe('1158201444');

    const wrong = await request(`${stack.webhookUrl}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`);
    expect(wrong.statusCode).toBe(403);
    await wrong.body.dump();
  });

  it('has the worker ready before its first message: adapters built, Firestore and the agent connected, each logged once', async () => {
    type Entry = { severity: string; message: string; connection?: string; ms?: number; sinceStartMs?: number };
    // Node's own warnings (stderr) are the only lines that are not JSON.
    const entries = stack.worker.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Entry);
    const startUp = entries.filter((entry) => entry.message === 'worker adapters built' || entry.message.startsWith('connection warm'));
    expect(startUp.map((entry) => [entry.message, entry.connection ?? null, entry.severity]).sort()).toEqual([
      ['connection warmed up', 'agent', 'INFO'],
      ['connection warmed up', 'firestore', 'INFO'],
      ['worker adapters built', null, 'INFO'],
    ]);
    for (const entry of startUp) expect(entry.ms ?? entry.sinceStartMs).toBeGreaterThan(0);
  });

  it('turns one signed text webhook into exactly one reply carrying the agent’s answer', async () => {
    const wamid = newWamid();
    const response = await postWebhook(stack, textWebhook(ana, 'Hola, ¿tienen turnos para mañana?', { wamid }));
    expect(response.status).toBe(200);

    const sandbox = stack.sandbox!;
    const [reply] = await sandbox.waitFor(() => sandbox.sent().length > 0 && sandbox.sent());
    expect(reply!.to).toBe(`+${ana.phone}`);
    expect(reply!.type).toBe('text');
    expect(reply!.text).toBe('Echo #1: Hola, ¿tienen turnos para mañana?');

    const agentCalls = stack.agent!.calls;
    expect(agentCalls).toHaveLength(1);
    expect(agentCalls[0]!.userId).toBe(ana.userId);
    expect(agentCalls[0]!.text).toBe('Hola, ¿tienen turnos para mañana?');

    // The read receipt with the typing indicator goes out for the user's message, before the reply.
    const read = sandbox.reads().find((r) => r.messageId === wamid);
    expect(read?.typing).toBe(true);
    expect(read!.time).toBeLessThanOrEqual(reply!.time);

    // Give a duplicate reply time to show up if there were one.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(sandbox.sent()).toHaveLength(1);
  });

  it('keeps one agent session per user across messages', async () => {
    const sandbox = stack.sandbox!;
    const bruno = { phone: '5511999990002', name: 'Bruno' };
    await postWebhook(stack, textWebhook(bruno, 'primero'));
    await sandbox.waitFor(() => sandbox.sent().length === 1);
    await postWebhook(stack, textWebhook(bruno, 'segundo'));
    const sent = await sandbox.waitFor(() => sandbox.sent().length === 2 && sandbox.sent());
    // The counter continues: the second turn ran in the same agent session.
    expect(sent[1]!.text).toBe('Echo #2: segundo');
    const [first, second] = stack.agent!.calls;
    expect(second!.sessionId).toBe(first!.sessionId);
  });

  it('refuses unsigned and wrongly signed POSTs with 401 and publishes nothing', async () => {
    const body = textWebhook(ana, 'forged');
    expect((await postWebhook(stack, body, { signature: null })).status).toBe(401);
    expect((await postWebhook(stack, body, { signature: 'sha256=' + '0'.repeat(64) })).status).toBe(401);
    // Signed over a re-serialised copy: Meta's escaped bytes differ, so the signature must not match.
    const raw = toMetaJson(textWebhook(ana, 'café / hola'));
    const reserialisedSignature = signatureFor(JSON.stringify(JSON.parse(raw)), stack.env.WHATSAPP_APP_SECRET!);
    expect((await postWebhook(stack, raw, { signature: reserialisedSignature })).status).toBe(401);

    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(stack.agent!.calls).toHaveLength(0);
    expect(stack.sandbox!.sent()).toHaveLength(0);
  });

  it('acknowledges status callbacks without publishing them', async () => {
    const response = await postWebhook(
      stack,
      statusWebhook({ wamid: newWamid(), status: 'failed', recipient: ana.phone, errorCode: 131047 }),
    );
    expect(response.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(stack.agent!.calls).toHaveLength(0);
    expect(stack.webhook.lines.some((line) => line.includes('"graphErrorCode":131047'))).toBe(true);
  });

  it('answers at / like at /webhook (a cloudfunctions.net URL strips the function name)', async () => {
    const root = stack.webhookUrl.replace(/\/webhook$/, '/');
    const handshake = await request(`${root}?hub.mode=subscribe&hub.verify_token=${stack.env.WHATSAPP_VERIFY_TOKEN}&hub.challenge=42`);
    expect(await handshake.body.text()).toBe('42');
    const raw = toMetaJson(textWebhook({ phone: '5215512340009' }, 'por la raíz'));
    const response = await request(root, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureFor(raw, stack.env.WHATSAPP_APP_SECRET!) },
      body: raw,
    });
    expect(response.statusCode).toBe(200);
    await response.body.dump();
    const sandbox = stack.sandbox!;
    const [reply] = await sandbox.waitFor(() => sandbox.sent().length > 0 && sandbox.sent());
    expect(reply!.text).toBe('Echo #1: por la raíz');
  });

  it('answers /healthz', async () => {
    const response = await request(stack.webhookUrl.replace('/webhook', '/healthz'));
    expect(response.statusCode).toBe(200);
    await response.body.dump();
  });
});

describeWithEmulators('with the agent and the Graph API configured as outside services', () => {
  it('uses them instead of starting stand-ins: one webhook → exactly one send carrying the agent’s reply', async () => {
    const agent = await startLocalAgent();
    const graph = await startWhatsAppSandbox({ accessToken: 'outside-token', graphApiVersion: 'v25.0' });
    const stack = await startTestStack({
      AGENT_ENGINE: agent.engine,
      VERTEX_API_ENDPOINT: agent.endpoint,
      WHATSAPP_ACCESS_TOKEN: 'outside-token',
      GRAPH_API_BASE_URL: graph.url,
      GRAPH_API_VERSION: 'v25.0',
    });
    try {
      expect(stack.agent).toBeUndefined();
      expect(stack.sandbox).toBeUndefined();
      expect((await postWebhook(stack, textWebhook(ana, 'Hola'))).status).toBe(200);
      const [send] = await graph.waitFor(() => graph.sent().length > 0 && graph.sent());
      expect(send).toMatchObject({ to: `+${ana.phone}`, type: 'text', text: 'Echo #1: Hola' });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(graph.sent()).toHaveLength(1);
      expect(agent.calls).toHaveLength(1);
    } finally {
      await stack.stop();
      await graph.close();
      await agent.close();
    }
  });
});
