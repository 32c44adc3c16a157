import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { DEFAULT_PHONE_NUMBER_ID, statusWebhook } from '../../local/webhookBodies.js';
import { makeUsers, until } from '../reliability/helpers.js';
import { describeWithEmulators, postWebhook, startTestStack } from './testStack.js';

const ADMIN_TOKEN = `adm-${randomUUID()}`;
/** Generous: the machine is shared, and a cold worker compiles its core on the first message. */
const WAIT_MS = 30_000;

/**
 * Delivery truth and proactive messages, end to end: signed webhooks → Pub/Sub emulator → worker → Firestore emulator, the sandbox playing Graph.
 */
describeWithEmulators('reaching users: delivery statuses and proactive messages', () => {
  let stack: LocalStack;
  let base: string;
  beforeAll(async () => {
    stack = await startTestStack({ ADMIN_API_TOKEN: ADMIN_TOKEN });
    base = stack.webhookUrl.replace(/\/webhook$/, '');
  });
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(() => {
    stack.sandbox!.reset();
    stack.agent!.reset();
  });

  async function admin(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
  }

  const sentTo = (phone: string) => stack.sandbox!.sent().filter((m) => m.to === `+${phone}`);

  it('records status webhooks against the sent message and never moves a status backwards', async () => {
    const [carla] = makeUsers('Carla', 1);
    const sent = await admin('POST', '/whatsapp/messages', {
      to: carla!.phone,
      from: DEFAULT_PHONE_NUMBER_ID,
      template: { name: 'hello_world', language: 'en_US' },
    });
    expect(sent.status).toBe(200);
    const reply = { id: sent.body.wamid as string };
    const path = `/whatsapp/messages/${encodeURIComponent(reply.id)}`;
    expect((await admin('GET', path)).body).toMatchObject({ wamid: reply.id, status: 'accepted' });

    const status = (value: string, extra = {}) => statusWebhook({ wamid: reply.id, status: value, recipient: carla!.phone, ...extra });
    // read first, then the stale ones, duplicates and a stale failure, as Meta may deliver them.
    for (const value of ['read', 'delivered', 'sent', 'delivered', 'read', 'sent']) {
      expect((await postWebhook(stack, status(value))).status).toBe(200);
    }
    expect((await postWebhook(stack, status('failed', { errorCode: 131026 }))).status).toBe(200);
    // Every one of the seven reached the worker and was weighed.
    await until(
      () =>
        stack.worker.lines.filter(
          (line) => line.includes(reply.id) && /status changes nothing|delivery status recorded/.test(line),
        ).length === 7,
      WAIT_MS,
      'seven statuses processed',
    );
    const answer = await admin('GET', path);
    expect(answer.body).toMatchObject({ wamid: reply.id, status: 'read' });
    expect(answer.body.error).toBeUndefined();
    // Statuses carry no ordering key, so Pub/Sub may hand them over in any order: each forward
    // step is written at most once (sent, delivered, read), everything else costs a read only.
    const written = stack.worker.lines.filter((l) => l.includes(reply.id) && l.includes('delivery status recorded'));
    expect(written.length).toBeGreaterThanOrEqual(1);
    expect(written.length).toBeLessThanOrEqual(3);
  });

  it('proactive messages: a template to anyone, free text only inside the window, Meta’s reasons on refusal', async () => {
    const [eva] = makeUsers('Eva', 1);
    const sandbox = stack.sandbox!;
    const to = `+${eva!.phone}`;
    expect(await admin('POST', '/whatsapp/messages', { to, text: 'hola' })).toMatchObject({ status: 400, body: { error: 'from_required' } });
    expect(await admin('POST', '/whatsapp/messages', { to, from: DEFAULT_PHONE_NUMBER_ID, text: 'hola' })).toMatchObject({
      status: 409,
      body: { error: 'outside_window' },
    });
    expect(sandbox.requests).toHaveLength(0);

    const sent = await admin('POST', '/whatsapp/messages', {
      to,
      from: DEFAULT_PHONE_NUMBER_ID,
      template: { name: 'order_update', language: 'es', components: [{ type: 'body', parameters: [{ type: 'text', text: 'Eva' }, { type: 'text', text: 'A-17' }] }] },
    });
    expect(sent.status).toBe(200);
    const wamid = sent.body.wamid as string;
    expect(sentTo(eva!.phone)).toMatchObject([{ id: wamid, type: 'template', text: 'Hola Eva, tu pedido A-17 está en camino.' }]);
    expect((await admin('GET', `/whatsapp/messages/${encodeURIComponent(wamid)}`)).body).toMatchObject({ wamid, status: 'accepted' });
    await postWebhook(stack, statusWebhook({ wamid, status: 'delivered', recipient: eva!.phone }));
    await until(async () => (await admin('GET', `/whatsapp/messages/${encodeURIComponent(wamid)}`)).body.status === 'delivered', WAIT_MS, 'delivered');

    const unknown = await admin('POST', '/whatsapp/messages', { to, from: DEFAULT_PHONE_NUMBER_ID, template: { name: 'nope', language: 'es' } });
    expect(unknown).toMatchObject({ status: 400, body: { error: 'rejected_by_whatsapp', code: 132001 } });
    expect(unknown.body.details).toMatch(/does not exist/);
    const badParams = await admin('POST', '/whatsapp/messages', { to, from: DEFAULT_PHONE_NUMBER_ID, template: { name: 'order_update', language: 'es' } });
    expect(badParams).toMatchObject({ status: 400, body: { error: 'rejected_by_whatsapp', code: 132000 } });
    expect(await admin('POST', '/whatsapp/messages', { to, text: 'a', template: { name: 'x', language: 'es' } })).toMatchObject({
      status: 400,
      body: { error: 'invalid_request' },
    });
  });

  it('sends a proactive message once per Idempotency-Key, however often and however concurrently it is asked', async () => {
    const [fede] = makeUsers('Fede', 1);
    const key = randomUUID();
    const body = { to: fede!.phone, from: DEFAULT_PHONE_NUMBER_ID, template: { name: 'hello_world', language: 'en_US' } };
    const answers = await Promise.all([1, 2, 3].map(() => admin('POST', '/whatsapp/messages', body, { 'idempotency-key': key })));
    const ok = answers.filter((a) => a.status === 200);
    // Concurrent twins either get the wamid or are told the first is still sending; none sends again.
    expect(answers.every((a) => a.status === 200 || (a.status === 409 && a.body.error === 'in_progress'))).toBe(true);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    const again = await admin('POST', '/whatsapp/messages', body, { 'idempotency-key': key });
    expect(again.status).toBe(200);
    expect(new Set([...ok, again].map((a) => a.body.wamid)).size).toBe(1);
    expect(sentTo(fede!.phone)).toHaveLength(1);

    expect(
      (await admin('POST', '/whatsapp/messages', { ...body, template: { name: 'reengage', language: 'en_US' } }, { 'idempotency-key': key }))
        .status,
    ).toBe(422);
    // Without a key, each request is a new message.
    await admin('POST', '/whatsapp/messages', body);
    expect(sentTo(fede!.phone)).toHaveLength(2);
  });
});
