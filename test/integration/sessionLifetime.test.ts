import { randomInt } from 'node:crypto';
import { Firestore, Timestamp } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { DEFAULT_PHONE_NUMBER_ID, textWebhook, type WebhookSender } from '../../local/webhookBodies.js';
import { describeWithEmulators, postWebhook, startTestStack } from './testStack.js';

/** Not the default (24), so a worker that ignored the setting would be caught. */
const TTL_HOURS = 3;
const TTL_MS = TTL_HOURS * 3600_000;

describeWithEmulators('session lifetime (SESSION_TTL_HOURS)', () => {
  let stack: LocalStack;
  let db: Firestore;

  beforeAll(async () => {
    stack = await startTestStack({ SESSION_TTL_HOURS: String(TTL_HOURS) });
    db = new Firestore({ projectId: stack.projectId });
  });
  afterAll(async () => {
    await db?.terminate();
    await stack?.stop();
  });

  const newUser = (bsuid: boolean): WebhookSender & { phone: string; key: string } => {
    const phone = `549${randomInt(1_000_000_000, 9_999_999_999)}`;
    const userId = bsuid ? `AR.${randomInt(1e9, 1e10 - 1)}${randomInt(1e9, 1e10 - 1)}` : undefined;
    return { phone, name: 'Test', ...(userId ? { userId } : {}), key: userId ?? phone };
  };

  // One session per (business number, user); the sandbox's webhooks come to the default number.
  const sessionDoc = (userId: string) => db.collection('whatsapp_sessions').doc(`${DEFAULT_PHONE_NUMBER_ID}:${encodeURIComponent(userId)}`);

  async function readSession(userId: string) {
    const data = (await sessionDoc(userId).get()).data();
    expect(data, `whatsapp_sessions/${userId}`).toBeDefined();
    return {
      agentSessionId: data!.agentSessionId as string,
      createdAt: (data!.createdAt as Timestamp).toMillis(),
      lastMessageAt: (data!.lastMessageAt as Timestamp).toMillis(),
      expiresAt: data!.expiresAt as Timestamp,
      messageCount: data!.messageCount as number,
    };
  }

  /** Sends `text` and waits for its echo; returns the agent session it ran in and when it was sent. */
  async function say(user: WebhookSender & { phone: string; key: string }, text: string) {
    const sentAt = Date.now();
    expect((await postWebhook(stack, textWebhook(user, text))).status).toBe(200);
    const sandbox = stack.sandbox!;
    const reply = await sandbox.waitFor(
      () => sandbox.sent().find((message) => message.to === `+${user.phone}` && message.text?.endsWith(`: ${text}`)),
      45_000,
    );
    const call = stack.agent!.calls.findLast((candidate) => candidate.userId === user.key && candidate.text === text);
    expect(call).toBeDefined();
    return { sessionId: call!.sessionId, turn: Number(/^Echo #(\d+)/.exec(reply.text ?? '')?.[1]), sentAt, answeredAt: Date.now() };
  }

  it('keeps expiresAt at the last message + SESSION_TTL_HOURS, moving it forward with each message', async () => {
    const user = newUser(true);
    const first = await say(user, 'primera');
    const afterFirst = await readSession(user.key);
    // A Timestamp, so Firestore's TTL policy can use the field.
    expect(afterFirst.expiresAt).toBeInstanceOf(Timestamp);
    expect(afterFirst.expiresAt.toMillis()).toBeGreaterThanOrEqual(first.sentAt + TTL_MS);
    expect(afterFirst.expiresAt.toMillis()).toBeLessThanOrEqual(first.answeredAt + TTL_MS);
    expect(afterFirst.expiresAt.toMillis() - afterFirst.lastMessageAt).toBe(TTL_MS);

    // Let the clock move measurably before the next message.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await say(user, 'segunda');
    const afterSecond = await readSession(user.key);
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.turn).toBe(2);
    expect(afterSecond.expiresAt.toMillis()).toBeGreaterThan(afterFirst.expiresAt.toMillis());
    expect(afterSecond.expiresAt.toMillis()).toBeGreaterThanOrEqual(second.sentAt + TTL_MS);
    expect(afterSecond.expiresAt.toMillis()).toBeLessThanOrEqual(second.answeredAt + TTL_MS);
    expect(afterSecond.lastMessageAt).toBeGreaterThan(afterFirst.lastMessageAt);
    expect(afterSecond.createdAt).toBe(afterFirst.createdAt);
    expect(afterSecond.messageCount).toBe(2);
  });

  it('starts a new agent session when the stored one has expired', async () => {
    const user = newUser(false);
    const first = await say(user, 'hola');
    await say(user, 'sigo aquí');

    // The emulator has no TTL: the record stays, so the worker must check expiresAt itself.
    await sessionDoc(user.key).update({ expiresAt: Timestamp.fromMillis(Date.now() - 60_000) });
    const afterExpiry = await say(user, 'volví');
    expect(afterExpiry.sessionId).not.toBe(first.sessionId);
    expect(afterExpiry.turn).toBe(1);
    expect(stack.agent!.sessions.get(afterExpiry.sessionId)?.userId).toBe(user.key);

    const renewed = await readSession(user.key);
    expect(renewed.agentSessionId).toBe(afterExpiry.sessionId);
    expect(renewed.createdAt).toBeGreaterThanOrEqual(afterExpiry.sentAt);
    expect(renewed.expiresAt.toMillis()).toBeGreaterThanOrEqual(afterExpiry.sentAt + TTL_MS);
    expect(renewed.messageCount).toBe(1);

    // And the new session is kept for the next message.
    const next = await say(user, 'y otra');
    expect(next.sessionId).toBe(afterExpiry.sessionId);
    expect(next.turn).toBe(2);
  });

  it('keeps a session whose expiresAt is still ahead, however old its last message', async () => {
    const user = newUser(true);
    const first = await say(user, 'hola');
    await sessionDoc(user.key).update({
      lastMessageAt: Timestamp.fromMillis(Date.now() - 30 * 24 * 3600_000),
      expiresAt: Timestamp.fromMillis(Date.now() + 60_000),
    });
    const second = await say(user, 'sigo');
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.turn).toBe(2);
  });
});
