import type { Request, Response } from '@google-cloud/functions-framework';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../shared/log/logger.js';
import type { OutboundText, WhatsAppClient } from '../../../shared/whatsapp/graphClient.js';
import {
  createMemoryConversationWindowStore,
  createMemoryHandoffStore,
  createMemoryOptOutStore,
  createMemoryOutboundMessageStore,
  createMemorySessionStore,
} from '../../../test/fakes/memoryStores.js';
import { createAdminRoutes } from './adminRoutes.js';
import { createHandoffRoutes } from './handoffRoutes.js';

const t0 = Date.parse('2026-12-05T10:00:00Z');
const at = (minutes: number) => new Date(t0 + minutes * 60_000);
const PN = '123456789012345';
const ana = { userId: 'AR.1349', phone: '5491155550001' };

interface Answer {
  status: number;
  body: unknown;
}

/** The admin routes over memory stores, with a WhatsApp client that records what it sends. */
function setUp() {
  let clock = at(0);
  const sessions = createMemorySessionStore();
  const windows = createMemoryConversationWindowStore();
  const handoffs = createMemoryHandoffStore();
  const optOuts = createMemoryOptOutStore();
  const outbound = createMemoryOutboundMessageStore();
  const sent: OutboundText[] = [];
  const whatsapp = {
    async sendText(message: OutboundText) {
      sent.push(message);
      return `wamid.staff${sent.length}`;
    },
  } as unknown as WhatsAppClient;
  const log = createLogger('test', 'silent');
  const now = () => clock;
  const handoff = createHandoffRoutes({
    handoffs,
    windows,
    settings: { timeoutMs: 60 * 60_000 },
    proactive: {
      windows,
      optOuts,
      outbound,
      idempotency: {
        claim: async () => ({ outcome: 'claimed' }),
        complete: async () => undefined,
        release: async () => undefined,
      },
      whatsapp,
      log,
      now,
      sleep: async () => undefined,
      maxInlineRetryWaitMs: 0,
    },
    log,
    now,
  });
  const routes = createAdminRoutes({ sessions, optOuts, messages: async () => undefined, handoff, log });

  async function call(method: string, url: string, body?: unknown): Promise<Answer> {
    const parsed = new URL(url, 'http://admin.invalid');
    const req = {
      method,
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      body,
      get: (name: string) => (name.toLowerCase() === 'authorization' ? 'Bearer tok' : undefined),
    } as unknown as Request;
    const answer: Answer = { status: 0, body: undefined };
    const res = {
      status(code: number) {
        answer.status = code;
        return res;
      },
      set: () => res,
      json(value: unknown) {
        answer.body = value;
        return res;
      },
      end: () => res,
    } as unknown as Response;
    await routes(req, res);
    return answer;
  }
  return { call, sessions, windows, handoffs, outbound, sent, setClock: (date: Date) => (clock = date) };
}

describe('hand-off admin routes', () => {
  let stack: ReturnType<typeof setUp>;
  beforeEach(async () => {
    stack = setUp();
    await stack.windows.noteUserMessage({ phoneNumberId: PN, ...ana, lastUserMessageAt: at(-5) });
    await stack.sessions.put({ phoneNumberId: PN, ...ana, agentSessionId: 's1', createdAt: at(-10), lastMessageAt: at(-5), expiresAt: at(1000), messageCount: 2 });
  });

  it('POST …/handoff pauses the conversation the user last wrote to; GET shows it; DELETE resumes', async () => {
    const paused = await stack.call('POST', `/whatsapp/sessions/+${ana.phone}/handoff`, { reason: 'VIP', minutes: 30 });
    const handoff = { phoneNumberId: PN, since: at(0).toISOString(), until: at(30).toISOString(), reason: 'VIP', by: 'admin' };
    expect(paused).toEqual({ status: 200, body: { handoff } });
    expect((await stack.call('GET', `/whatsapp/sessions/${ana.userId}`)).body).toMatchObject({ userId: ana.userId, handoff });

    stack.setClock(at(5));
    expect((await stack.call('DELETE', `/whatsapp/sessions/${ana.phone}/handoff`)).status).toBe(204);
    expect((await stack.call('GET', `/whatsapp/sessions/${ana.userId}`)).body).not.toHaveProperty('handoff');
    expect(await stack.call('DELETE', `/whatsapp/sessions/${ana.phone}/handoff`)).toEqual({ status: 404, body: { error: 'not_paused' } });
    // The record stays for the first turn after the pause.
    expect(await stack.handoffs.get({ phoneNumberId: PN, userId: ana.userId }, at(6))).toMatchObject({ endedAt: at(5) });
  });

  it('without a body pauses for HANDOFF_TIMEOUT_MINUTES; bad input is a 400 that changes nothing', async () => {
    expect((await stack.call('POST', `/whatsapp/sessions/${ana.userId}/handoff`)).body).toMatchObject({ handoff: { until: at(60).toISOString(), reason: null } });
    for (const body of [{ minutes: 0 }, { minutes: 1.5 }, { minutes: 7 * 24 * 60 + 1 }, { reason: '' }, { extra: true }, 'x']) {
      const answer = await stack.call('POST', `/whatsapp/sessions/${ana.userId}/handoff`, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
    }
    expect((await stack.handoffs.get({ phoneNumberId: PN, userId: ana.userId }, at(1)))?.until).toEqual(at(60));
    expect(await stack.call('POST', '/whatsapp/sessions/5215500000000/handoff', {})).toMatchObject({ status: 400, body: { error: 'from_required' } });
    expect((await stack.call('PUT', `/whatsapp/sessions/${ana.userId}/handoff`)).status).toBe(405);
  });

  it('POST …/messages sends as staff, records it for the transcript and pauses (a take-over)', async () => {
    const answer = await stack.call('POST', `/whatsapp/sessions/${ana.phone}/messages`, { text: 'Hola Ana, soy Luis' });
    expect(answer).toEqual({
      status: 200,
      body: { wamid: 'wamid.staff1', handoff: { phoneNumberId: PN, since: at(0).toISOString(), until: at(60).toISOString(), reason: null, by: 'admin' } },
    });
    expect(stack.sent).toEqual([{ phoneNumberId: PN, to: ana, text: 'Hola Ana, soy Luis' }]);
    expect(stack.outbound.records.get('wamid.staff1')).toMatchObject({ kind: 'staff', userId: ana.userId });

    stack.setClock(at(45));
    await stack.call('POST', `/whatsapp/sessions/${ana.phone}/messages`, { text: 'Listo, reembolsado' });
    const record = await stack.handoffs.get({ phoneNumberId: PN, userId: ana.userId }, at(46));
    expect(record).toMatchObject({ since: at(0), until: at(105), by: 'admin' });
    expect(record?.entries.map((e) => [e.from, e.text, e.id])).toEqual([
      ['staff', 'Hola Ana, soy Luis', 'wamid.staff1'],
      ['staff', 'Listo, reembolsado', 'wamid.staff2'],
    ]);
  });

  it('POST …/messages outside the 24-hour window answers 409 outside_window, sends nothing and does not pause', async () => {
    stack.setClock(at(25 * 60));
    expect(await stack.call('POST', `/whatsapp/sessions/${ana.phone}/messages`, { text: 'hola' })).toMatchObject({ status: 409, body: { error: 'outside_window' } });
    expect(stack.sent).toEqual([]);
    expect(stack.handoffs.records.size).toBe(0);
    expect((await stack.call('POST', `/whatsapp/sessions/${ana.phone}/messages`, {})).status).toBe(400);
  });

  it('the list shows handoff on paused sessions and ?handoff=true lists only who is waiting', async () => {
    const bruno = { userId: '5215512345678', phone: '5215512345678' };
    await stack.sessions.put({ phoneNumberId: PN, ...bruno, agentSessionId: 's2', createdAt: at(-10), lastMessageAt: at(-1), expiresAt: at(1000), messageCount: 1 });
    await stack.call('POST', `/whatsapp/sessions/${ana.userId}/handoff`, { reason: 'refund' });
    // Staff wrote from the Business app to someone the bot never talked to.
    await stack.handoffs.pause({ phoneNumberId: PN, userId: '5491100000009', phone: '5491100000009' }, () => ({ since: at(0), until: at(10), by: 'business_app' }), at(0));

    const all = (await stack.call('GET', '/whatsapp/sessions')).body as { sessions: { userId: string; handoff?: { reason: string } }[] };
    expect(all.sessions.map((s) => [s.userId, s.handoff?.reason ?? null])).toEqual([
      [bruno.userId, null],
      [ana.userId, 'refund'],
    ]);
    const waiting = (await stack.call('GET', '/whatsapp/sessions?handoff=true')).body as { sessions: { userId: string; agentSessionId: string | null; handoff: { by: string } }[] };
    expect(waiting.sessions.map((s) => [s.userId, s.agentSessionId, s.handoff.by])).toEqual([
      ['5491100000009', null, 'business_app'],
      [ana.userId, 's1', 'admin'],
    ]);
    const firstPage = (await stack.call('GET', '/whatsapp/sessions?handoff=true&limit=1')).body as { sessions: unknown[]; nextPageToken: string | null };
    expect(firstPage.sessions).toHaveLength(1);
    expect(firstPage.nextPageToken).not.toBeNull();
  });
});
