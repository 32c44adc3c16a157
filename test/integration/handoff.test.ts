import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { echoWebhook, newWamid, textWebhook } from '../../local/webhookBodies.js';
import { makeUsers, sleep, until } from '../reliability/helpers.js';
import { describeWithEmulators, postWebhook, startTestStack } from './testStack.js';

const ADMIN_TOKEN = `adm-${randomUUID()}`;
/** Generous: the machine is shared, and a cold worker compiles its core on the first message. */
const WAIT_MS = 30_000;

/**
 * A person takes over (issue 14), end to end: signed webhooks → Pub/Sub emulator → worker →
 * Firestore emulator, the sandbox playing Graph and the local agent playing Agent Engine.
 */
describeWithEmulators('hand-off to a person', () => {
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

  async function admin(method: string, path: string, body?: unknown) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
  }

  /** Every Graph call about this user: sends to the number, read receipts and typing for its messages. */
  const graphCallsAbout = (phone: string, wamids: string[]) =>
    stack.sandbox!.requests.filter((r) => {
      const body = r.body as Record<string, unknown> | undefined;
      return body?.to === `+${phone}` || wamids.includes(String(body?.message_id));
    });
  const textsTo = (phone: string) => stack.sandbox!.sent().filter((m) => m.to === `+${phone}`).map((m) => m.text);
  const workerSaid = (wamid: string, message: string) =>
    until(() => stack.worker.lines.some((line) => line.includes(wamid) && line.includes(message)), WAIT_MS, `worker: ${message}`);
  const agentCallsOf = (phone: string) => stack.agent!.calls.filter((c) => c.userId === phone);

  it('the agent hands over: its message goes out, then the next message gets no agent call and no Graph call at all', async () => {
    const [ana] = makeUsers('Ana', 1);
    stack.agent!.reply(({ turn }) =>
      turn === 1 ? [{ text: 'Te paso con una persona del equipo.' }, { call: 'handoff_to_human', args: { reason: 'refund over limit' } }] : `Echo #${turn}`,
    );
    await postWebhook(stack, textWebhook(ana!, 'quiero un reembolso de 900 euros'));
    await stack.sandbox!.waitFor(() => textsTo(ana!.phone).length === 1, WAIT_MS);
    expect(textsTo(ana!.phone)).toEqual(['Te paso con una persona del equipo.']);
    await until(() => stack.worker.lines.some((line) => line.includes('hand-off started') && line.includes('"by":"agent"')), WAIT_MS, 'hand-off started');
    const callsBefore = graphCallsAbout(ana!.phone, []).length;

    const waiting = newWamid();
    expect((await postWebhook(stack, textWebhook(ana!, '¿hola?', { wamid: waiting }))).status).toBe(200);
    await workerSaid(waiting, 'message kept for staff');
    await sleep(1000);
    expect(graphCallsAbout(ana!.phone, [waiting])).toHaveLength(callsBefore);
    expect(agentCallsOf(ana!.phone)).toHaveLength(1);

    const session = await admin('GET', `/whatsapp/sessions/${ana!.phone}`);
    expect(session.body.handoff).toMatchObject({ by: 'agent', reason: 'refund over limit' });
  });

  it('an operator pauses, staff answer through the admin API, the operator resumes: the agent’s next input holds the exchange', async () => {
    const [bruno] = makeUsers('Bruno', 1);
    await postWebhook(stack, textWebhook(bruno!, 'hola'));
    await stack.sandbox!.waitFor(() => textsTo(bruno!.phone).length === 1, WAIT_MS);

    expect((await admin('POST', `/whatsapp/sessions/${bruno!.phone}/handoff`, { reason: 'VIP' })).body.handoff).toMatchObject({ by: 'admin', reason: 'VIP' });
    const paused = newWamid();
    await postWebhook(stack, textWebhook(bruno!, 'necesito hablar con alguien', { wamid: paused }));
    await workerSaid(paused, 'message kept for staff');
    const staff = await admin('POST', `/whatsapp/sessions/+${bruno!.phone}/messages`, { text: 'Hola Bruno, soy Luis. Ya lo reviso.' });
    expect(staff.status).toBe(200);
    expect(textsTo(bruno!.phone)).toEqual(['Echo #1: hola', 'Hola Bruno, soy Luis. Ya lo reviso.']);
    expect((await admin('GET', '/whatsapp/sessions?handoff=true')).body.sessions).toEqual(
      expect.arrayContaining([expect.objectContaining({ userId: bruno!.phone, handoff: expect.objectContaining({ by: 'admin' }) })]),
    );

    expect((await admin('DELETE', `/whatsapp/sessions/${bruno!.phone}/handoff`)).status).toBe(204);
    await postWebhook(stack, textWebhook(bruno!, 'gracias'));
    await until(() => agentCallsOf(bruno!.phone).length === 2 && agentCallsOf(bruno!.phone), WAIT_MS, 'the second agent call');
    const input = agentCallsOf(bruno!.phone)[1]!.text;
    expect(input).toMatch(/^\[While you were paused, a person from the business took over this chat/);
    expect(input.indexOf('User: necesito hablar con alguien')).toBeLessThan(input.indexOf('Staff: Hola Bruno, soy Luis. Ya lo reviso.'));
    expect(input.endsWith('\n\ngracias')).toBe(true);
    await stack.sandbox!.waitFor(() => textsTo(bruno!.phone).length === 3, WAIT_MS);

    // The transcript went to the agent once: the turn after carries only the user's text.
    await postWebhook(stack, textWebhook(bruno!, 'otra cosa'));
    await until(() => agentCallsOf(bruno!.phone).length === 3, WAIT_MS, 'the third agent call');
    expect(agentCallsOf(bruno!.phone)[2]!.text).toBe('otra cosa');
  });

  it('staff writing from the Business app (a signed echo) pauses the bot; duplicates and retries during the pause stay silent', async () => {
    const [carla] = makeUsers('Carla', 1);
    await postWebhook(stack, textWebhook(carla!, 'hola'));
    await stack.sandbox!.waitFor(() => textsTo(carla!.phone).length === 1, WAIT_MS);

    const echoWamid = newWamid();
    expect((await postWebhook(stack, echoWebhook(carla!, 'Hola Carla, soy Ana de la tienda', { wamid: echoWamid }))).status).toBe(200);
    await until(() => stack.worker.lines.some((line) => line.includes(echoWamid) && line.includes('hand-off started')), WAIT_MS, 'echo pauses');
    // An unsigned echo is refused like any webhook.
    expect((await postWebhook(stack, echoWebhook(carla!, 'forged'), { signature: 'sha256=' + '0'.repeat(64) })).status).toBe(401);

    const waiting = newWamid();
    const body = textWebhook(carla!, '¿tienen talla M?', { wamid: waiting });
    for (let i = 0; i < 3; i += 1) expect((await postWebhook(stack, body)).status).toBe(200);
    await workerSaid(waiting, 'message kept for staff');
    await sleep(1500);
    expect(graphCallsAbout(carla!.phone, [waiting]).filter((r) => (r.body as { message_id?: string }).message_id === waiting)).toEqual([]);
    expect(textsTo(carla!.phone)).toEqual(['Echo #1: hola']);
    expect(agentCallsOf(carla!.phone)).toHaveLength(1);
    const session = await admin('GET', `/whatsapp/sessions/${carla!.phone}`);
    expect(session.body.handoff).toMatchObject({ by: 'business_app' });

    // On resume, the user's question is in the transcript once, however often Meta delivered it.
    expect((await admin('DELETE', `/whatsapp/sessions/${carla!.phone}/handoff`)).status).toBe(204);
    await postWebhook(stack, textWebhook(carla!, '¿y en azul?'));
    await until(() => agentCallsOf(carla!.phone).length === 2, WAIT_MS, 'the agent after the pause');
    const input = agentCallsOf(carla!.phone)[1]!.text;
    expect(input.match(/User: ¿tienen talla M\?/g)).toHaveLength(1);
    expect(input).toContain('Staff: Hola Carla, soy Ana de la tienda');
  });
});
