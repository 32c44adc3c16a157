import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { textWebhook } from '../../local/webhookBodies.js';
import { createFirestoreSessionStore } from '../../shared/store/firestoreSessionStore.js';
import { describeWithEmulators, postWebhook, startTestStack } from './testStack.js';

/*
 * One deployment, two business numbers, two agents (issue 16): the real functions on the
 * emulators, the local agent answering as both engines over the real gRPC protocol (each engine
 * with its own sessions, its id in the echo), the sandbox recording which number each reply left from.
 */

const SUPPORT = '111111111111111';
const SALES = '222222222222222';
const SUPPORT_ENGINE = 'projects/local-project/locations/europe-west1/reasoningEngines/soporte';
const SALES_ENGINE = 'projects/local-project/locations/us-east4/reasoningEngines/sales';
const ana = { phone: '5491155550001', name: 'Ana Pérez', userId: 'AR.13491208655302741918' };

describeWithEmulators('many numbers, many agents (emulators, local agent, sandbox)', () => {
  let stack: LocalStack;
  let db: Firestore;
  beforeAll(async () => {
    stack = await startTestStack({
      AGENT_ENGINE_BY_NUMBER: JSON.stringify({ [SUPPORT]: SUPPORT_ENGINE, [SALES]: SALES_ENGINE }),
      TEXTS_BY_NUMBER: JSON.stringify({
        [SUPPORT]: { WELCOME_TEXT: '¡Hola! Soy el asistente de soporte.', OPT_OUT_COMMANDS: 'salir', OPT_OUT_CONFIRM_TEXT: 'No te escribiremos más.' },
      }),
      WELCOME_TEXT: 'Welcome to sales!',
    });
    db = new Firestore({ projectId: stack.projectId });
  });
  afterAll(async () => {
    await db?.terminate();
    await stack?.stop();
  });

  /** The replies so far, as [the number they left from, text]. */
  const replies = () => stack.sandbox!.sent().map((sent) => [sent.phoneNumberId, sent.text]);

  it('one user writing to both numbers: two sessions, the right agent each, replies from the right number in its words', async () => {
    const sandbox = stack.sandbox!;
    expect((await postWebhook(stack, textWebhook(ana, 'hola', { phoneNumberId: SUPPORT }))).status).toBe(200);
    await sandbox.waitFor(() => sandbox.sent().length === 1, 30_000);
    expect((await postWebhook(stack, textWebhook(ana, 'hi', { phoneNumberId: SALES }))).status).toBe(200);
    await sandbox.waitFor(() => sandbox.sent().length === 2, 30_000);
    expect((await postWebhook(stack, textWebhook(ana, 'otra pregunta', { phoneNumberId: SUPPORT }))).status).toBe(200);
    await sandbox.waitFor(() => sandbox.sent().length === 3, 30_000);

    expect(replies()).toEqual([
      [SUPPORT, '¡Hola! Soy el asistente de soporte.\n\nEcho #1 (soporte): hola'],
      [SALES, 'Welcome to sales!\n\nEcho #1 (sales): hi'],
      // The support conversation goes on in its own session: its counter continues.
      [SUPPORT, 'Echo #2 (soporte): otra pregunta'],
    ]);
    const calls = stack.agent!.calls.map((call) => [call.engine, call.userId, call.text, call.sessionId]);
    expect(calls.map(([engine, userId, text]) => [engine, userId, text])).toEqual([
      [SUPPORT_ENGINE, ana.userId, 'hola'],
      [SALES_ENGINE, ana.userId, 'hi'],
      [SUPPORT_ENGINE, ana.userId, 'otra pregunta'],
    ]);
    expect(calls[2]![3]).toBe(calls[0]![3]);
    expect(calls[1]![3]).not.toBe(calls[0]![3]);

    const sessions = createFirestoreSessionStore(db);
    const [support, sales] = await Promise.all([
      sessions.get({ phoneNumberId: SUPPORT, userId: ana.userId }),
      sessions.get({ phoneNumberId: SALES, userId: ana.userId }),
    ]);
    expect(support).toMatchObject({ phoneNumberId: SUPPORT, agentSessionId: calls[0]![3], messageCount: 2 });
    expect(sales).toMatchObject({ phoneNumberId: SALES, agentSessionId: calls[1]![3], messageCount: 1 });
    expect(stack.agent!.sessions.get(support!.agentSessionId)?.engine).toBe(SUPPORT_ENGINE);
    expect(stack.agent!.sessions.get(sales!.agentSessionId)?.engine).toBe(SALES_ENGINE);
  });

  it('a number outside the map is answered by AGENT_ENGINE with the deployment\'s texts', async () => {
    const sandbox = stack.sandbox!;
    const before = sandbox.sent().length;
    const bruno = { phone: '5215512345678', name: 'Bruno' };
    expect((await postWebhook(stack, textWebhook(bruno, 'hello', { phoneNumberId: '333333333333333' }))).status).toBe(200);
    const [reply] = await sandbox.waitFor(() => sandbox.sent().length > before && sandbox.sent().slice(before), 30_000);
    expect([reply!.phoneNumberId, reply!.text]).toEqual(['333333333333333', 'Welcome to sales!\n\nEcho #1: hello']);
    expect(stack.agent!.calls.at(-1)?.engine).toBe(stack.agent!.engine);
  });

  it('a number\'s own opt-out word stops that number only; on the other number it is a message for the agent', async () => {
    const sandbox = stack.sandbox!;
    const carla = { phone: '5491155550003', name: 'Carla' };
    const before = sandbox.sent().length;
    const newReplies = async (count: number) => sandbox.waitFor(() => sandbox.sent().length >= before + count && replies().slice(before), 30_000);
    expect((await postWebhook(stack, textWebhook(carla, ' SALIR', { phoneNumberId: SUPPORT }))).status).toBe(200);
    await newReplies(1);
    expect((await postWebhook(stack, textWebhook(carla, 'salir', { phoneNumberId: SALES }))).status).toBe(200);
    await newReplies(2);
    // After the opt-out, support says nothing more; a later sales message proves the silent one was processed first.
    expect((await postWebhook(stack, textWebhook(carla, '¿hola?', { phoneNumberId: SUPPORT }))).status).toBe(200);
    expect((await postWebhook(stack, textWebhook(carla, 'gracias', { phoneNumberId: SALES }))).status).toBe(200);
    expect(await newReplies(3)).toEqual([
      [SUPPORT, 'No te escribiremos más.'],
      [SALES, 'Welcome to sales!\n\nEcho #1 (sales): salir'],
      [SALES, 'Echo #2 (sales): gracias'],
    ]);
    const optOut = await db.collection('opt_outs').doc(`${SUPPORT}:${carla.phone}`).get();
    expect(optOut.data()).toMatchObject({ command: 'SALIR' });
    expect((await db.collection('opt_outs').doc(`${SALES}:${carla.phone}`).get()).exists).toBe(false);
  });
});
