import { randomInt, randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { DEFAULT_PHONE_NUMBER_ID, newWamid, textWebhook, type WebhookSender } from '../../local/webhookBodies.js';
import { describeWithEmulators, postWebhook, startTestStack } from '../integration/testStack.js';

const ADMIN_TOKEN = `adm-${randomUUID()}`;
const HOUR_MS = 3600_000;

interface SessionJson {
  phoneNumberId: string | null;
  userId: string;
  phone: string | null;
  profileName: string | null;
  agentSessionId: string;
  createdAt: string;
  lastMessageAt: string;
  expiresAt: string;
  messageCount: number;
}

interface User extends WebhookSender {
  phone: string;
  name: string;
  /** The id the bridge keys the user on: the BSUID when there is one, else the wa_id. */
  key: string;
}

/** A user nobody else in this run writes as; `bsuid` adds a business-scoped user id. */
function newUser(label: string, bsuid: boolean): User {
  const phone = `521${randomInt(1_000_000_000, 9_999_999_999)}`;
  const userId = bsuid ? `MX.${randomInt(1e9, 1e10 - 1)}${randomInt(1e9, 1e10 - 1)}` : undefined;
  return { phone, name: `${label} ${phone.slice(-4)}`, ...(userId ? { userId } : {}), key: userId ?? phone };
}

describeWithEmulators('sessions admin API', () => {
  let stack: LocalStack;
  let adminUrl: string;

  beforeAll(async () => {
    stack = await startTestStack({ ADMIN_API_TOKEN: ADMIN_TOKEN });
    adminUrl = stack.webhookUrl.replace(/\/webhook$/, '/whatsapp/sessions');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function admin(method: string, path = '', token: string | null = ADMIN_TOKEN) {
    const response = await fetch(`${adminUrl}${path}`, {
      method,
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  }

  async function list(query = '?limit=100'): Promise<{ sessions: SessionJson[]; nextPageToken: string | null }> {
    const answer = await admin('GET', query);
    expect(answer.status).toBe(200);
    return answer.body as { sessions: SessionJson[]; nextPageToken: string | null };
  }

  /** The user writes `text` and the bot's echo of it arrives; returns the echo's turn number. */
  async function say(user: User, text: string): Promise<number> {
    const response = await postWebhook(stack, textWebhook(user, text, { wamid: newWamid() }));
    expect(response.status).toBe(200);
    const sandbox = stack.sandbox!;
    const reply = await sandbox.waitFor(
      () => sandbox.sent().find((message) => message.to === `+${user.phone}` && message.text?.endsWith(`: ${text}`)),
      45_000,
    );
    return Number(/^Echo #(\d+):/.exec(reply.text ?? '')?.[1]);
  }

  const agentSessionsOf = (user: User) =>
    stack.agent!.calls.filter((call) => call.userId === user.key).map((call) => call.sessionId);

  describe('listing', () => {
    const users = [newUser('Lia', true), newUser('Mateo', false), newUser('Noa', true), newUser('Olmo', false)];
    const [lia, mateo, noa, olmo] = users as [User, User, User, User];
    let startedAt: number;

    beforeAll(async () => {
      startedAt = Date.now();
      for (const user of users) await say(user, `hola de ${user.name}`);
      // Mateo writes again: he becomes the most recent, with two messages.
      await say(mateo, 'otra pregunta');
    });

    it('lists the users who wrote, newest activity first, with the documented fields', async () => {
      const { sessions, nextPageToken } = await list();
      expect(nextPageToken).toBeNull();
      const mine = sessions.filter((session) => users.some((user) => user.key === session.userId));
      expect(mine.map((session) => session.userId)).toEqual([mateo.key, olmo.key, noa.key, lia.key]);

      const times = sessions.map((session) => Date.parse(session.lastMessageAt));
      expect(times).toEqual([...times].sort((a, b) => b - a));

      for (const session of mine) {
        const user = users.find((candidate) => candidate.key === session.userId)!;
        expect(Object.keys(session).sort()).toEqual(
          ['agentSessionId', 'createdAt', 'expiresAt', 'lastMessageAt', 'messageCount', 'phone', 'phoneNumberId', 'profileName', 'userId'].sort(),
        );
        expect(session.phone).toBe(user.phone);
        expect(session.phoneNumberId).toBe(DEFAULT_PHONE_NUMBER_ID);
        expect(session.profileName).toBe(user.name);
        expect(session.agentSessionId).toMatch(/^\d+$/);
        expect(agentSessionsOf(user).every((id) => id === session.agentSessionId)).toBe(true);
        expect(session.messageCount).toBe(user === mateo ? 2 : 1);

        const created = Date.parse(session.createdAt);
        const last = Date.parse(session.lastMessageAt);
        expect(created).toBeGreaterThanOrEqual(startedAt - 1000);
        expect(last).toBeGreaterThanOrEqual(created);
        expect(last).toBeLessThanOrEqual(Date.now());
        // The default SESSION_TTL_HOURS is 24, counted from the last message.
        expect(Date.parse(session.expiresAt) - last).toBeGreaterThanOrEqual(24 * HOUR_MS - 5_000);
        expect(Date.parse(session.expiresAt) - last).toBeLessThanOrEqual(24 * HOUR_MS + 5_000);
      }
      expect(Date.parse(mine[0]!.createdAt)).toBeLessThan(Date.parse(mine[0]!.lastMessageAt));
    });

    it('pages with ?limit= and pageToken: every session exactly once, in the same order', async () => {
      // Sessions that tie on lastMessageAt must not be skipped or repeated at a page boundary.
      const db = new Firestore({ projectId: stack.projectId });
      const tie = new Date('2026-01-01T00:00:00Z');
      const seeded = Array.from({ length: 5 }, (_, i) => `US.${randomInt(1e9, 1e10 - 1)}0000${i}`);
      try {
        await Promise.all(
          seeded.map((userId) =>
            db
              .collection('whatsapp_sessions')
              .doc(`${DEFAULT_PHONE_NUMBER_ID}:${encodeURIComponent(userId)}`)
              .set({
                phoneNumberId: DEFAULT_PHONE_NUMBER_ID,
                userId,
                agentSessionId: String(randomInt(1e9, 1e10 - 1)),
                createdAt: tie,
                lastMessageAt: tie,
                expiresAt: new Date(tie.getTime() + 24 * HOUR_MS),
                messageCount: 1,
              }),
          ),
        );
      } finally {
        await db.terminate();
      }

      const all = (await list()).sessions.map((session) => session.userId);
      expect(all).toEqual(expect.arrayContaining([...users.map((user) => user.key), ...seeded]));
      expect(new Set(all).size).toBe(all.length);

      for (const limit of [1, 2, 3]) {
        const paged: string[] = [];
        let token: string | null = null;
        let pages = 0;
        do {
          const query: string = `?limit=${limit}${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`;
          const page = await list(query);
          expect(page.sessions.length).toBeLessThanOrEqual(limit);
          paged.push(...page.sessions.map((session) => session.userId));
          token = page.nextPageToken;
          pages += 1;
          expect(pages).toBeLessThanOrEqual(all.length);
        } while (token);
        expect(paged).toEqual(all);
        expect(pages).toBe(Math.ceil(all.length / limit));
      }
    });

    it('refuses a forged pageToken with 400, not 500', async () => {
      const forge = (value: unknown) => encodeURIComponent(Buffer.from(JSON.stringify(value)).toString('base64url'));
      for (const forged of [forge({ at: 1e300, id: 'x' }), forge({ at: 0, id: 'a/b' }), forge({ at: 0, id: '__x__' }), 'bm90LWpzb24']) {
        const answer = await admin('GET', `?pageToken=${forged}`);
        expect(answer.status, forged).toBe(400);
      }
    });

    it('refuses a limit above 100, or one that is not a positive integer, with 400', async () => {
      for (const limit of ['101', '500', '0', '-3', 'abc']) {
        expect((await admin('GET', `?limit=${limit}`)).status).toBe(400);
      }
      expect((await admin('GET', '?limit=100')).status).toBe(200);
    });

    it('finds one session by the number with or without +, and by BSUID', async () => {
      const listed = (await list()).sessions.find((session) => session.userId === lia.key);
      for (const id of [`+${lia.phone}`, `%2B${lia.phone}`, lia.phone, lia.key]) {
        const answer = await admin('GET', `/${id}`);
        expect(answer.status).toBe(200);
        // One session's view adds the business numbers the user opted out of (none here).
        expect(answer.body).toEqual({ ...listed, optOuts: [] });
      }
      for (const id of [`+${mateo.phone}`, mateo.phone]) {
        const answer = await admin('GET', `/${id}`);
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ userId: mateo.key, phone: mateo.phone, messageCount: 2 });
      }
    });

    it('answers 404 for a user who never wrote', async () => {
      const stranger = newUser('Nadie', true);
      for (const id of [`+${stranger.phone}`, stranger.phone, stranger.key]) {
        expect((await admin('GET', `/${id}`)).status).toBe(404);
      }
    });
  });

  describe('reset', () => {
    it('DELETE removes the session and the Agent Engine session; the next message starts afresh', async () => {
      const pia = newUser('Pía', true);
      expect(await say(pia, 'uno')).toBe(1);
      expect(await say(pia, 'dos')).toBe(2);
      const [first, second] = agentSessionsOf(pia);
      expect(second).toBe(first);
      expect(stack.agent!.sessions.has(first!)).toBe(true);

      const answer = await admin('DELETE', `/+${pia.phone}`);
      expect(answer.status).toBe(204);
      expect(answer.body).toBeUndefined();
      expect(stack.agent!.sessions.has(first!)).toBe(false);
      expect((await admin('GET', `/${pia.key}`)).status).toBe(404);
      expect((await list()).sessions.some((session) => session.userId === pia.key)).toBe(false);

      // The echo counter starts again at #1 only in a fresh agent session.
      expect(await say(pia, 'tres')).toBe(1);
      const calls = agentSessionsOf(pia);
      expect(calls).toHaveLength(3);
      expect(calls[2]).not.toBe(first);
      const after = await admin('GET', `/${pia.phone}`);
      expect(after.status).toBe(200);
      expect(after.body).toMatchObject({ userId: pia.key, agentSessionId: calls[2], messageCount: 1 });
    });

    it('a reset while the agent is answering neither loses that answer nor asks the agent twice', async () => {
      const tere = newUser('Tere', false);
      await say(tere, 'primero');
      const agent = stack.agent!;
      agent.latencyMs = 2_000;
      try {
        const text = 'pregunta lenta';
        expect((await postWebhook(stack, textWebhook(tere, text))).status).toBe(200);
        // The operator resets the user while the agent is still working on the question.
        await stack.sandbox!.waitFor(() => agent.calls.some((call) => call.userId === tere.key && call.text === text), 30_000);
        expect((await admin('DELETE', `/${tere.phone}`)).status).toBe(204);

        const sandbox = stack.sandbox!;
        await sandbox.waitFor(
          () => sandbox.sent().find((message) => message.to === `+${tere.phone}` && message.text?.endsWith(`: ${text}`)),
          45_000,
        );
        // Give a second attempt (a retry after a failed bookkeeping write) time to show up.
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        expect(agent.calls.filter((call) => call.userId === tere.key && call.text === text)).toHaveLength(1);
        expect(sandbox.sent().filter((message) => message.to === `+${tere.phone}`)).toHaveLength(2);
      } finally {
        agent.latencyMs = 0;
      }
      // And the next message starts a fresh conversation.
      expect(await say(tere, 'después')).toBe(1);
    });

    it('DELETE by BSUID and by a bare number; unknown → 404; other users untouched', async () => {
      const quim = newUser('Quim', true);
      const rosa = newUser('Rosa', false);
      await Promise.all([say(quim, 'hola'), say(rosa, 'hola')]);
      const rosaBefore = await admin('GET', `/${rosa.phone}`);

      expect((await admin('DELETE', `/${quim.key}`)).status).toBe(204);
      expect((await admin('DELETE', `/${quim.key}`)).status).toBe(404);
      expect((await admin('GET', `/${rosa.phone}`)).body).toEqual(rosaBefore.body);

      expect((await admin('DELETE', `/${rosa.phone}`)).status).toBe(204);
      expect((await admin('GET', `/+${rosa.phone}`)).status).toBe(404);
      expect((await admin('DELETE', `/+${newUser('Nadie', false).phone}`)).status).toBe(404);
      expect(stack.agent!.sessions.has(agentSessionsOf(rosa)[0]!)).toBe(false);
    });
  });

  describe('authentication', () => {
    it('answers 401 to a missing or wrong token on every route, and changes nothing', async () => {
      const sara = newUser('Sara', false);
      await say(sara, 'hola');
      const before = await admin('GET', `/${sara.phone}`);
      expect(before.status).toBe(200);

      for (const token of [null, 'wrong', ADMIN_TOKEN.slice(0, -1), `${ADMIN_TOKEN}x`, ADMIN_TOKEN.toUpperCase()]) {
        for (const [method, path] of [
          ['GET', ''],
          ['GET', `/${sara.phone}`],
          ['DELETE', `/${sara.phone}`],
        ] as const) {
          const answer = await admin(method, path, token);
          expect(answer.status, `${method} ${path} with ${token === null ? 'no token' : 'a wrong token'}`).toBe(401);
          expect(JSON.stringify(answer.body)).not.toContain(sara.phone);
        }
      }
      const raw = await fetch(`${adminUrl}/${sara.phone}`, { method: 'DELETE', headers: { authorization: ADMIN_TOKEN } });
      expect(raw.status).toBe(401);
      expect(await admin('GET', `/${sara.phone}`)).toEqual(before);
      expect(stack.agent!.sessions.has(agentSessionsOf(sara)[0]!)).toBe(true);
    });
  });
});
