import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { DEFAULT_PHONE_NUMBER_ID, newWamid, statusWebhook, textWebhook } from '../../local/webhookBodies.js';
import { makeUsers, sleep, until } from '../reliability/helpers.js';
import { describeWithEmulators, postWebhook, startTestStack } from './testStack.js';

const ADMIN_TOKEN = `adm-${randomUUID()}`;
const DAY_S = 24 * 3600;
/** Generous: the machine is shared, and a cold worker compiles its core on the first message. */
const WAIT_MS = 30_000;

/**
 * Delivery truth, re-engagement after the 24-hour window, proactive messages and opt-out, end to
 * end: signed webhooks → Pub/Sub emulator → worker → Firestore emulator, the sandbox playing Graph.
 */
describeWithEmulators('reaching users: statuses, the 24-hour window, proactive messages, opt-out', () => {
  let stack: LocalStack;
  let base: string;
  beforeAll(async () => {
    stack = await startTestStack({ ADMIN_API_TOKEN: ADMIN_TOKEN, REENGAGE_TEMPLATE: 'reengage', REENGAGE_TEMPLATE_LANGUAGE: 'en_US' });
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
  /** What the user sees, in order: texts as they are, templates by name. */
  const chatOf = (phone: string) =>
    sentTo(phone).map((m) => (m.type === 'template' ? `[template ${(m.body.template as { name: string }).name}]` : m.text));
  const graphCallsAbout = (phone: string, wamids: string[]) =>
    stack.sandbox!.requests.filter((r) => {
      const body = r.body as Record<string, unknown> | undefined;
      return body?.to === `+${phone}` || wamids.includes(String(body?.message_id));
    });
  const workerSaid = (wamid: string, message: string) =>
    until(() => stack.worker.lines.some((line) => line.includes(wamid) && line.includes(message)), WAIT_MS, `worker: ${message}`);

  it('131047 on a reply: the template goes out once, and the held reply comes first, once, when the user writes', async () => {
    const [ana] = makeUsers('Ana', 1);
    const sandbox = stack.sandbox!;
    sandbox.failNext({ status: 400, code: 131047, only: 'send' });
    await postWebhook(stack, textWebhook(ana!, 'Hola'));
    await sandbox.waitFor(() => sentTo(ana!.phone).length === 1, WAIT_MS);
    expect(chatOf(ana!.phone)).toEqual(['[template reengage]']);

    await postWebhook(stack, textWebhook(ana!, 'ya volví'));
    await sandbox.waitFor(() => sentTo(ana!.phone).length === 3, WAIT_MS);
    expect(chatOf(ana!.phone)).toEqual(['[template reengage]', 'Echo #1: Hola', 'Echo #2: ya volví']);
    expect(stack.agent!.calls.map((c) => c.text)).toEqual(['Hola', 'ya volví']);

    // Nothing more shows up later (no second template, no second copy of the held reply).
    await sleep(1500);
    expect(chatOf(ana!.phone)).toHaveLength(3);
  });

  it('a reply whose window closed by our clock is held, and one that failed later in a status too', async () => {
    const [bruno] = makeUsers('Bruno', 1);
    const sandbox = stack.sandbox!;
    // The user's message is 25 hours old when it is processed (a late replay).
    await postWebhook(stack, textWebhook(bruno!, 'pregunta vieja', { timestamp: Math.floor(Date.now() / 1000) - DAY_S - 3600 }));
    await sandbox.waitFor(() => sentTo(bruno!.phone).length === 1, WAIT_MS);
    expect(chatOf(bruno!.phone)).toEqual(['[template reengage]']);

    await postWebhook(stack, textWebhook(bruno!, 'hola'));
    await sandbox.waitFor(() => sentTo(bruno!.phone).length === 3, WAIT_MS);
    expect(chatOf(bruno!.phone)).toEqual(['[template reengage]', 'Echo #1: pregunta vieja', 'Echo #2: hola']);

    // Meta accepts the next reply, then reports it failed with 131047 in a status webhook.
    await postWebhook(stack, textWebhook(bruno!, 'una más'));
    await sandbox.waitFor(() => sentTo(bruno!.phone).length === 4, WAIT_MS);
    const late = sentTo(bruno!.phone)[3]!;
    expect(late.text).toBe('Echo #3: una más');
    await postWebhook(stack, statusWebhook({ wamid: late.id, status: 'failed', recipient: bruno!.phone, errorCode: 131047 }));
    await sandbox.waitFor(() => sentTo(bruno!.phone).length === 5, WAIT_MS);
    expect(chatOf(bruno!.phone)[4]).toBe('[template reengage]');
    expect((await admin('GET', `/whatsapp/messages/${encodeURIComponent(late.id)}`)).body).toMatchObject({
      status: 'failed',
      error: { code: 131047 },
    });

    await postWebhook(stack, textWebhook(bruno!, 'sigo aquí'));
    await sandbox.waitFor(() => sentTo(bruno!.phone).length === 7, WAIT_MS);
    expect(chatOf(bruno!.phone).slice(5)).toEqual(['Echo #3: una más', 'Echo #4: sigo aquí']);
  });

  it('records status webhooks against the sent message and never moves a status backwards', async () => {
    const [carla] = makeUsers('Carla', 1);
    const sandbox = stack.sandbox!;
    await postWebhook(stack, textWebhook(carla!, 'hola'));
    const [reply] = await sandbox.waitFor(() => sentTo(carla!.phone).length === 1 && sentTo(carla!.phone));
    const path = `/whatsapp/messages/${encodeURIComponent(reply!.id)}`;
    await until(async () => (await admin('GET', path)).status === 200, WAIT_MS, 'outbound record');
    expect((await admin('GET', path)).body).toMatchObject({ wamid: reply!.id, status: 'accepted' });

    const status = (value: string, extra = {}) => statusWebhook({ wamid: reply!.id, status: value, recipient: carla!.phone, ...extra });
    // read first, then the stale ones, duplicates and a stale failure, as Meta may deliver them.
    for (const value of ['read', 'delivered', 'sent', 'delivered', 'read', 'sent']) {
      expect((await postWebhook(stack, status(value))).status).toBe(200);
    }
    expect((await postWebhook(stack, status('failed', { errorCode: 131026 }))).status).toBe(200);
    // Every one of the seven reached the worker and was weighed.
    await until(
      () =>
        stack.worker.lines.filter(
          (line) => line.includes(reply!.id) && /status changes nothing|delivery status recorded/.test(line),
        ).length === 7,
      WAIT_MS,
      'seven statuses processed',
    );
    const answer = await admin('GET', path);
    expect(answer.body).toMatchObject({ wamid: reply!.id, status: 'read' });
    expect(answer.body.error).toBeUndefined();
    // Statuses carry no ordering key, so Pub/Sub may hand them over in any order: each forward
    // step is written at most once (sent, delivered, read), everything else costs a read only.
    const written = stack.worker.lines.filter((l) => l.includes(reply!.id) && l.includes('delivery status recorded'));
    expect(written.length).toBeGreaterThanOrEqual(1);
    expect(written.length).toBeLessThanOrEqual(3);
  });

  it('STOP: one confirmation, then no Graph call of any kind; proactive sends refused; START answers again', async () => {
    const [dana] = makeUsers('Dana', 1);
    const sandbox = stack.sandbox!;
    await postWebhook(stack, textWebhook(dana!, 'hola'));
    await sandbox.waitFor(() => sentTo(dana!.phone).length === 1, WAIT_MS);

    const stopWamid = newWamid();
    await postWebhook(stack, textWebhook(dana!, '  STOP ', { wamid: stopWamid }));
    await sandbox.waitFor(() => sentTo(dana!.phone).length === 2, WAIT_MS);
    expect(chatOf(dana!.phone)[1]).toMatch(/You will not receive more messages/);
    const callsAfterStop = graphCallsAbout(dana!.phone, [stopWamid]).length;
    expect(stack.agent!.calls).toHaveLength(1);

    const silentWamids = [newWamid(), newWamid()];
    await postWebhook(stack, textWebhook(dana!, '¿hola?', { wamid: silentWamids[0] }));
    await postWebhook(stack, textWebhook(dana!, 'stop', { wamid: silentWamids[1] }));
    await workerSaid(silentWamids[0]!, 'the user has opted out: nothing sent');
    await workerSaid(silentWamids[1]!, 'the user has opted out: nothing sent');

    const text = await admin('POST', '/whatsapp/messages', { to: `+${dana!.phone}`, text: 'Oferta' });
    expect(text).toEqual({ status: 409, body: { error: 'opted_out' } });
    const template = await admin('POST', '/whatsapp/messages', { to: dana!.phone, template: { name: 'reengage', language: 'en_US' } });
    expect(template).toEqual({ status: 409, body: { error: 'opted_out' } });

    // Not a receipt, not typing, not a reply, not a template: the sandbox saw nothing.
    expect(graphCallsAbout(dana!.phone, [stopWamid, ...silentWamids])).toHaveLength(callsAfterStop);
    expect(stack.agent!.calls).toHaveLength(1);
    const session = await admin('GET', `/whatsapp/sessions/${dana!.phone}`);
    expect(session.body.optOuts).toMatchObject([{ phoneNumberId: DEFAULT_PHONE_NUMBER_ID, command: 'STOP' }]);
    // Deleting the session does not erase the opt-out.
    expect((await admin('DELETE', `/whatsapp/sessions/${dana!.phone}`)).status).toBe(204);
    expect((await admin('POST', '/whatsapp/messages', { to: dana!.phone, text: 'x' })).body).toEqual({ error: 'opted_out' });

    await postWebhook(stack, textWebhook(dana!, 'Start'));
    await sandbox.waitFor(() => sentTo(dana!.phone).length === 3, WAIT_MS);
    expect(chatOf(dana!.phone)[2]).toMatch(/Welcome back/);
    await postWebhook(stack, textWebhook(dana!, 'de nuevo'));
    await sandbox.waitFor(() => sentTo(dana!.phone).length === 4, WAIT_MS);
    expect(chatOf(dana!.phone)[3]).toMatch(/^Echo #\d+: de nuevo$/);
    expect(sandbox.reads().length).toBeGreaterThan(0);
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

    // Once the user writes, free text goes out from the number they wrote to, no `from` needed.
    await postWebhook(stack, textWebhook(eva!, 'hola'));
    await sandbox.waitFor(() => sentTo(eva!.phone).length === 2, WAIT_MS);
    const text = await admin('POST', '/whatsapp/messages', { to: eva!.phone, text: 'Tu pedido llegó' });
    expect(text.status).toBe(200);
    expect(sentTo(eva!.phone).at(-1)).toMatchObject({ id: text.body.wamid, type: 'text', text: 'Tu pedido llegó' });
    expect(sandbox.requests.at(-1)!.path).toContain(`/${DEFAULT_PHONE_NUMBER_ID}/messages`);
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
