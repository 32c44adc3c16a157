import { Writable } from 'node:stream';
import type { Request, Response } from '@google-cloud/functions-framework';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../shared/log/logger.js';
import { InvalidPageTokenError, type SessionRecord, type SessionStore } from '../../../shared/store/sessionStore.js';
import type { HttpFunction } from '@google-cloud/functions-framework';
import { createMemoryOptOutStore } from '../../../test/fakes/memoryStores.js';
import { createAdminRoutes } from './adminRoutes.js';
import { requireAdminToken } from './requireAdminToken.js';

const TOKEN = 'adm-9f8e7d6c5b4a';
const optOuts = createMemoryOptOutStore();
const noMessages = async (_req: Request, res: Response) => {
  res.status(418).json({ error: 'message routes' });
};

const SUPPORT = '111111111111111';
const SALES = '222222222222222';

const ana: SessionRecord = {
  phoneNumberId: SUPPORT,
  userId: 'AR.13491208655302741918',
  phone: '5491155550001',
  profileName: 'Ana Pérez',
  agentSessionId: '1234567890123456789',
  createdAt: new Date('2026-05-01T10:00:00Z'),
  lastMessageAt: new Date('2026-05-01T10:05:00Z'),
  expiresAt: new Date('2026-05-02T10:05:00Z'),
  messageCount: 3,
};
const bruno: SessionRecord = {
  phoneNumberId: SUPPORT,
  userId: '5215512345678',
  phone: '5215512345678',
  agentSessionId: '9876543210987654321',
  createdAt: new Date('2026-05-01T09:00:00Z'),
  lastMessageAt: new Date('2026-05-01T09:30:00Z'),
  expiresAt: new Date('2026-05-02T09:30:00Z'),
  messageCount: 1,
};

/** An in-memory SessionStore, one record per (number, user), that records how it was listed. */
function memoryStore(records: SessionRecord[]) {
  const keyOf = (key: { phoneNumberId: string; userId: string }) => `${key.phoneNumberId}:${key.userId}`;
  const byId = new Map(records.map((record) => [keyOf(record), { ...record }]));
  const listCalls: { limit: number; pageToken?: string | undefined; phoneNumberId?: string | undefined }[] = [];
  const newestFirst = (a: SessionRecord, b: SessionRecord) => b.lastMessageAt.getTime() - a.lastMessageAt.getTime();
  const store: SessionStore = {
    async get(key) {
      return byId.get(keyOf(key));
    },
    async findForUser(id) {
      return [...byId.values()].filter((record) => record.userId === id || record.phone === id).sort(newestFirst);
    },
    async put(record) {
      byId.set(keyOf(record), record);
    },
    async touch() {},
    async delete(key) {
      return byId.delete(keyOf(key));
    },
    async list(options) {
      listCalls.push(options);
      if (options.pageToken === 'forged') throw new InvalidPageTokenError('not ours');
      const sorted = [...byId.values()].filter((r) => !options.phoneNumberId || r.phoneNumberId === options.phoneNumberId).sort(newestFirst);
      return { sessions: sorted.slice(0, options.limit), ...(sorted.length > options.limit ? { nextPageToken: 'next' } : {}) };
    },
  };
  return { store, byId, listCalls, has: (record: SessionRecord) => byId.has(keyOf(record)) };
}

interface Answer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

async function call(
  handler: HttpFunction,
  method: string,
  url: string,
  authorization: string | null = `Bearer ${TOKEN}`,
): Promise<Answer> {
  const parsed = new URL(url, 'http://admin.invalid');
  const req = {
    method,
    path: parsed.pathname,
    query: Object.fromEntries(parsed.searchParams),
    headers: authorization === null ? {} : { authorization },
    get: (name: string) => (name.toLowerCase() === 'authorization' ? (authorization ?? undefined) : undefined),
  } as unknown as Request;
  const answer: Answer = { status: 0, body: undefined, headers: {} };
  const res = {
    status(code: number) {
      answer.status = code;
      return res;
    },
    set(name: string, value: string) {
      answer.headers[name.toLowerCase()] = value;
      return res;
    },
    json(body: unknown) {
      answer.body = body;
      return res;
    },
    send(body: unknown) {
      answer.body = body;
      return res;
    },
    end() {
      return res;
    },
  } as unknown as Response;
  await handler(req, res);
  return answer;
}

describe('createAdminRoutes', () => {
  let memory: ReturnType<typeof memoryStore>;
  /** Agent sessions deleted: [the number whose agent was asked, user, session]. */
  let deleted: [string, string, string][];
  let agentFails: boolean;
  let logLines: string[];
  let handler: HttpFunction;
  let routeLoads: number;

  beforeEach(() => {
    memory = memoryStore([ana, bruno]);
    deleted = [];
    agentFails = false;
    logLines = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    routeLoads = 0;
    const log = createLogger('test', 'debug', sink);
    const routes = createAdminRoutes({
      sessions: memory.store,
      optOuts,
      messages: noMessages,
      agentFor: (phoneNumberId) => ({
        async deleteSession(userId, sessionId) {
          if (agentFails) throw new Error('UNAVAILABLE: agent down');
          deleted.push([phoneNumberId, userId, sessionId]);
        },
      }),
      log,
    });
    handler = requireAdminToken(
      TOKEN,
      async () => {
        routeLoads += 1;
        return routes;
      },
      log,
    );
  });

  describe('authentication', () => {
    it.each([
      ['no Authorization header', null],
      ['a wrong token', 'Bearer adm-wrong'],
      ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
      ['the token with a suffix', `Bearer ${TOKEN}x`],
      ['another scheme', `Basic ${TOKEN}`],
      ['the bare token', TOKEN],
      ['an empty bearer', 'Bearer '],
    ])('answers 401 with WWW-Authenticate to %s', async (_label, authorization) => {
      for (const [method, url] of [
        ['GET', '/whatsapp/sessions'],
        ['GET', `/whatsapp/sessions/${ana.phone}`],
        ['DELETE', `/whatsapp/sessions/${ana.phone}`],
        ['POST', '/whatsapp/messages'],
        ['GET', '/whatsapp/messages/wamid.x'],
      ] as const) {
        const answer = await call(handler, method, url, authorization);
        expect(answer.status).toBe(401);
        expect(answer.headers['www-authenticate']).toBe('Bearer');
      }
      expect(memory.has(ana)).toBe(true);
      expect(deleted).toEqual([]);
      expect(memory.listCalls).toEqual([]);
      // Refused before the routes (and their Firestore and aiplatform code) were loaded.
      expect(routeLoads).toBe(0);
    });

    it('accepts the scheme in any case', async () => {
      expect((await call(handler, 'GET', '/whatsapp/sessions', `bearer ${TOKEN}`)).status).toBe(200);
      expect(routeLoads).toBe(1);
    });

    it('logs a refusal without the token or the phone number in the path', async () => {
      await call(handler, 'GET', `/whatsapp/sessions/+${ana.phone}`, 'Bearer some-guess-token');
      await call(handler, 'DELETE', `/whatsapp/sessions/${bruno.phone}`, 'Bearer some-guess-token');
      expect(logLines).toHaveLength(2);
      const all = logLines.join('\n');
      expect(all).toContain('admin request refused');
      expect(all).not.toContain('some-guess-token');
      expect(all).not.toContain(ana.phone);
      expect(all).not.toContain(bruno.phone);
    });
  });

  describe('GET /whatsapp/sessions', () => {
    it('lists sessions with the documented fields, newest activity first', async () => {
      const answer = await call(handler, 'GET', '/whatsapp/sessions');
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        sessions: [
          {
            phoneNumberId: SUPPORT,
            userId: ana.userId,
            phone: ana.phone,
            profileName: 'Ana Pérez',
            agentSessionId: ana.agentSessionId,
            createdAt: '2026-05-01T10:00:00.000Z',
            lastMessageAt: '2026-05-01T10:05:00.000Z',
            expiresAt: '2026-05-02T10:05:00.000Z',
            messageCount: 3,
          },
          {
            phoneNumberId: SUPPORT,
            userId: bruno.userId,
            phone: bruno.phone,
            profileName: null,
            agentSessionId: bruno.agentSessionId,
            createdAt: '2026-05-01T09:00:00.000Z',
            lastMessageAt: '2026-05-01T09:30:00.000Z',
            expiresAt: '2026-05-02T09:30:00.000Z',
            messageCount: 1,
          },
        ],
        nextPageToken: null,
      });
      expect(memory.listCalls).toEqual([{ limit: 50 }]);
    });

    it('passes limit and pageToken through and returns the next token', async () => {
      const answer = await call(handler, 'GET', '/whatsapp/sessions?limit=1&pageToken=abc');
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ sessions: [{ userId: ana.userId }], nextPageToken: 'next' });
      expect(memory.listCalls).toEqual([{ limit: 1, pageToken: 'abc' }]);
      expect((await call(handler, 'GET', '/whatsapp/sessions?limit=100')).status).toBe(200);
    });

    it('answers 400 to a pageToken the API did not issue', async () => {
      const answer = await call(handler, 'GET', '/whatsapp/sessions?pageToken=forged');
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: 'invalid pageToken' });
    });

    it.each(['0', '101', '1000', '-1', '1.5', 'ten', ''])('answers 400 to limit=%s', async (limit) => {
      const answer = await call(handler, 'GET', `/whatsapp/sessions?limit=${limit}`);
      expect(answer.status).toBe(400);
      expect(memory.listCalls).toEqual([]);
    });

    it('answers 405 to other methods on the collection', async () => {
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const answer = await call(handler, method, '/whatsapp/sessions');
        expect(answer.status).toBe(405);
        expect(answer.headers.allow).toBe('GET');
      }
      expect(memory.byId.size).toBe(2);
    });
  });

  describe('GET /whatsapp/sessions/{phone}', () => {
    it.each([
      ['the number with +', `+${ana.phone}`],
      ['the number with %2B', `%2B${ana.phone}`],
      ['the number without +', ana.phone],
      ['the BSUID', ana.userId],
    ])('finds a BSUID-keyed user by %s', async (_label, id) => {
      const answer = await call(handler, 'GET', `/whatsapp/sessions/${id}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ userId: ana.userId, agentSessionId: ana.agentSessionId, messageCount: 3 });
    });

    it('finds a phone-keyed user with and without +, and tolerates a trailing slash', async () => {
      for (const id of [bruno.phone, `+${bruno.phone}`, `${bruno.phone}/`]) {
        const answer = await call(handler, 'GET', `/whatsapp/sessions/${id}`);
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ userId: bruno.userId });
      }
    });

    it('shows the business numbers the user opted out of', async () => {
      expect((await call(handler, 'GET', `/whatsapp/sessions/${ana.phone}`)).body).toMatchObject({ optOuts: [] });
      await optOuts.optOut({
        phoneNumberId: '123456789012345',
        userId: ana.userId,
        command: 'STOP',
        optedOutAt: new Date('2026-05-01T11:00:00Z'),
      });
      try {
        expect((await call(handler, 'GET', `/whatsapp/sessions/${ana.phone}`)).body).toMatchObject({
          optOuts: [{ phoneNumberId: '123456789012345', since: '2026-05-01T11:00:00.000Z', command: 'STOP' }],
        });
      } finally {
        await optOuts.optIn('123456789012345', ana.userId);
      }
    });

    it('hands /whatsapp/messages to the message routes once the token is right', async () => {
      expect((await call(handler, 'POST', '/whatsapp/messages')).status).toBe(418);
      expect((await call(handler, 'GET', '/whatsapp/messages/wamid.x')).status).toBe(418);
    });

    it('answers 404 for an unknown user', async () => {
      for (const id of ['+5491100000000', 'AR.99999999999999999999', '5491155550002']) {
        expect((await call(handler, 'GET', `/whatsapp/sessions/${id}`)).status).toBe(404);
      }
    });

    it('answers 404, not the list of every session, to a path under a user that names nothing', async () => {
      for (const method of ['GET', 'DELETE']) {
        for (const path of [`/whatsapp/sessions/${ana.phone}/optouts`, `/whatsapp/sessions/${ana.phone}//`, '/whatsapp/sessions//']) {
          const answer = await call(handler, method, path);
          expect(answer, `${method} ${path}`).toMatchObject({ status: 404, body: { error: 'not found' } });
        }
      }
      expect(memory.listCalls).toEqual([]);
      expect(memory.byId.size).toBe(2);
    });

    it('answers 4xx, not a crash, to a malformed escape in the id', async () => {
      const answer = await call(handler, 'GET', '/whatsapp/sessions/%E0%A4%A');
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
    });
  });

  describe('DELETE /whatsapp/sessions/{phone}', () => {
    it('removes the record, deletes the Agent Engine session and answers 204', async () => {
      const answer = await call(handler, 'DELETE', `/whatsapp/sessions/+${ana.phone}`);
      expect(answer.status).toBe(204);
      expect(memory.has(ana)).toBe(false);
      expect(memory.has(bruno)).toBe(true);
      expect(deleted).toEqual([[SUPPORT, ana.userId, ana.agentSessionId]]);
      expect((await call(handler, 'GET', `/whatsapp/sessions/${ana.userId}`)).status).toBe(404);
      expect((await call(handler, 'DELETE', `/whatsapp/sessions/${ana.userId}`)).status).toBe(404);
      expect(deleted).toHaveLength(1);
    });

    it('deletes by BSUID and by a bare number', async () => {
      expect((await call(handler, 'DELETE', `/whatsapp/sessions/${ana.userId}`)).status).toBe(204);
      expect((await call(handler, 'DELETE', `/whatsapp/sessions/${bruno.phone}`)).status).toBe(204);
      expect(memory.byId.size).toBe(0);
      expect(deleted.map(([, userId]) => userId)).toEqual([ana.userId, bruno.userId]);
    });

    it('answers 404 for an unknown user and calls nothing', async () => {
      expect((await call(handler, 'DELETE', '/whatsapp/sessions/+5491100000000')).status).toBe(404);
      expect(deleted).toEqual([]);
      expect(memory.byId.size).toBe(2);
    });

    it('still resets the user when Agent Engine fails, and logs it masked', async () => {
      agentFails = true;
      expect((await call(handler, 'DELETE', `/whatsapp/sessions/${bruno.phone}`)).status).toBe(204);
      expect(memory.has(bruno)).toBe(false);
      const all = logLines.join('\n');
      expect(all).toContain('Agent Engine session not deleted');
      expect(all).toContain('+52*******5678');
      expect(all).not.toContain(bruno.phone);
    });

    it('works without an agent client (no AGENT_ENGINE on the webhook)', async () => {
      const bare = createAdminRoutes({
        sessions: memory.store,
        optOuts,
        messages: noMessages,
        log: createLogger('test', 'silent'),
      });
      expect((await call(bare, 'DELETE', `/whatsapp/sessions/${ana.phone}`)).status).toBe(204);
      expect(memory.has(ana)).toBe(false);
    });

    it('answers 405 to other methods on one session', async () => {
      const answer = await call(handler, 'POST', `/whatsapp/sessions/${ana.phone}`);
      expect(answer.status).toBe(405);
      expect(answer.headers.allow).toBe('GET, DELETE');
      expect(memory.has(ana)).toBe(true);
    });
  });

  describe('a user who writes to two business numbers: two sessions', () => {
    const anaSales: SessionRecord = {
      ...ana,
      phoneNumberId: SALES,
      agentSessionId: '5555555555555555555',
      lastMessageAt: new Date('2026-05-01T12:00:00Z'),
      messageCount: 1,
    };
    beforeEach(() => memory.store.put({ ...anaSales }));

    it('lists every session with its number, or one number\'s with ?number=', async () => {
      const all = (await call(handler, 'GET', '/whatsapp/sessions')).body as { sessions: { phoneNumberId: string; userId: string }[] };
      expect(all.sessions.map((s) => [s.phoneNumberId, s.userId])).toEqual([
        [SALES, ana.userId],
        [SUPPORT, ana.userId],
        [SUPPORT, bruno.userId],
      ]);
      const sales = await call(handler, 'GET', `/whatsapp/sessions?number=${SALES}&limit=10`);
      expect(sales.body).toMatchObject({ sessions: [{ phoneNumberId: SALES, agentSessionId: anaSales.agentSessionId }], nextPageToken: null });
      expect((sales.body as { sessions: unknown[] }).sessions).toHaveLength(1);
      expect(memory.listCalls.at(-1)).toEqual({ limit: 10, phoneNumberId: SALES });
    });

    it.each(['+34600000000', 'sales', '', '1e5'])('answers 400 to number=%s', async (number) => {
      const answer = await call(handler, 'GET', `/whatsapp/sessions?number=${encodeURIComponent(number)}`);
      expect(answer).toMatchObject({ status: 400, body: { error: 'number must be a phone_number_id (digits only)' } });
      expect((await call(handler, 'DELETE', `/whatsapp/sessions/${ana.phone}?number=${encodeURIComponent(number)}`)).status).toBe(400);
      expect(memory.has(anaSales)).toBe(true);
    });

    it('asks which number (409 number_required, naming them) rather than pick one for GET or DELETE', async () => {
      for (const method of ['GET', 'DELETE']) {
        const answer = await call(handler, method, `/whatsapp/sessions/${ana.phone}`);
        expect(answer).toMatchObject({ status: 409, body: { error: 'number_required', numbers: [SALES, SUPPORT] } });
      }
      expect(memory.has(ana) && memory.has(anaSales)).toBe(true);
      expect(deleted).toEqual([]);
    });

    it('shows one conversation with ?number=', async () => {
      const answer = await call(handler, 'GET', `/whatsapp/sessions/${ana.userId}?number=${SALES}`);
      expect(answer).toMatchObject({ status: 200, body: { phoneNumberId: SALES, userId: ana.userId, agentSessionId: anaSales.agentSessionId } });
      expect((await call(handler, 'GET', `/whatsapp/sessions/${ana.userId}?number=333`)).status).toBe(404);
    });

    it('deletes one conversation with ?number=, on that number\'s agent, and leaves the other', async () => {
      expect((await call(handler, 'DELETE', `/whatsapp/sessions/+${ana.phone}?number=${SALES}`)).status).toBe(204);
      expect(memory.has(anaSales)).toBe(false);
      expect(memory.has(ana)).toBe(true);
      expect(deleted).toEqual([[SALES, ana.userId, anaSales.agentSessionId]]);
      // One left: addressed without a number again.
      expect((await call(handler, 'GET', `/whatsapp/sessions/${ana.phone}`)).body).toMatchObject({ phoneNumberId: SUPPORT });
      const log = logLines.join('\n');
      expect(log).toContain('session reset by an operator');
      expect(log).toContain(`"phoneNumberId":"${SALES}"`);
    });

    it('does not combine ?number= with ?handoff=true', async () => {
      expect((await call(handler, 'GET', `/whatsapp/sessions?handoff=true&number=${SALES}`)).status).toBe(400);
    });
  });
});
