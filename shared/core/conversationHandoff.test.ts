import { Writable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryConversationWindowStore, createMemoryHandoffStore, createMemoryOutboundMessageStore } from '../../test/fakes/memoryStores.js';
import { createLogger } from '../log/logger.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import type { MessageEcho } from '../whatsapp/messageEcho.js';
import { checkHandoff as checkRead, pauseForAgent, recordStaffEcho, transcriptDelivered, type HandoffDeps } from './conversationHandoff.js';

/** The check as a turn makes it: on the record read at the turn's start. */
const checkHandoff = async (k: typeof key, messages: InboundMessage[], deps: HandoffDeps) =>
  checkRead(k, messages, await deps.handoffs.get(k, deps.now()), deps);

const t0 = Date.parse('2026-12-05T10:00:00Z');
const at = (minutes: number) => new Date(t0 + minutes * 60_000);
const PN = '123456789012345';
const key = { phoneNumberId: PN, userId: 'AR.1349' };
const PHONE = '5491155550001';

let n = 0;
const userMessage = (text: string, minute: number): InboundMessage => ({
  v: 1,
  wamid: `wamid.u${++n}`,
  userId: key.userId,
  phone: PHONE,
  phoneNumberId: PN,
  timestamp: at(minute).getTime() / 1000,
  content: { kind: 'text', text },
});
const echo = (text: string, minute: number, wamid = `wamid.e${++n}`): MessageEcho => ({
  v: 1,
  kind: 'echo',
  wamid,
  phoneNumberId: PN,
  to: PHONE,
  timestamp: at(minute).getTime() / 1000,
  content: { kind: 'text', text },
});

const isPausedNow = (record: { until: Date } | undefined, now: Date) => record !== undefined && record.until.getTime() > now.getTime();

describe('the hand-off steps of the worker', () => {
  let clock: Date;
  let lines: { message: string; by?: string; via?: string }[];
  let deps: Parameters<typeof recordStaffEcho>[1] & { handoffs: ReturnType<typeof createMemoryHandoffStore> };

  beforeEach(async () => {
    clock = at(0);
    lines = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const windows = createMemoryConversationWindowStore();
    await windows.noteUserMessage({ phoneNumberId: PN, userId: key.userId, phone: PHONE, lastUserMessageAt: at(-1) });
    deps = {
      handoffs: createMemoryHandoffStore(),
      windows,
      outbound: createMemoryOutboundMessageStore(),
      settings: { timeoutMs: 60 * 60_000 },
      log: createLogger('test', 'info', sink),
      now: () => clock,
    };
  });

  it('no hand-off: proceed with nothing to carry', async () => {
    expect(await checkHandoff(key, [userMessage('hola', 0)], deps)).toEqual({ kind: 'proceed', entryIds: [] });
  });

  it('the agent pauses; the user’s messages are kept (each once); after the timeout the next turn carries them, once', async () => {
    await pauseForAgent({ ...key, phone: PHONE }, 'refund', deps);
    expect(lines.at(-1)).toMatchObject({ message: 'hand-off started', by: 'agent', via: 'agent' });
    const waiting = userMessage('¿hay alguien?', 1);
    clock = at(1);
    expect(await checkHandoff(key, [waiting], deps)).toEqual({ kind: 'paused' });
    expect(await checkHandoff(key, [waiting], deps)).toEqual({ kind: 'paused' });
    expect(lines.at(-1)?.message).toBe('message kept for staff: the bot is paused');

    clock = at(61);
    const check = await checkHandoff(key, [userMessage('hola?', 61)], deps);
    expect(check).toMatchObject({ kind: 'proceed', entryIds: [waiting.wamid] });
    expect(check.kind === 'proceed' && check.transcript?.split('\n').filter((line) => line.startsWith('User: '))).toEqual(['User: ¿hay alguien?']);
    await transcriptDelivered(key, check, deps);
    expect(await checkHandoff(key, [userMessage('otra', 62)], deps)).toEqual({ kind: 'proceed', entryIds: [] });
  });

  it('a Business app echo pauses the conversation keyed by the user’s BSUID; further echoes extend it, redeliveries count once', async () => {
    const first = echo('Hola, soy Ana', 0);
    expect(await recordStaffEcho(first, deps)).toMatchObject({ ...key, phone: PHONE, by: 'business_app', since: at(0), until: at(60) });
    expect(lines.at(-1)).toMatchObject({ message: 'hand-off started', by: 'business_app' });
    clock = at(50);
    await recordStaffEcho(echo('Ya está', 50), deps);
    await recordStaffEcho(first, deps);
    expect(lines.at(-1)?.message).toBe('hand-off renewed');
    const record = await deps.handoffs.get(key, at(100));
    expect(record?.until).toEqual(at(110));
    expect(record?.entries.map((e) => `${e.from}: ${e.text}`)).toEqual(['staff: Hola, soy Ana', 'staff: Ya está']);
    clock = at(100);
    expect(await checkHandoff(key, [userMessage('gracias', 100)], deps)).toEqual({ kind: 'paused' });
  });

  it('an echo met after its pause would have ended (a dead-letter replay) only joins the transcript: the bot answers', async () => {
    const staff = echo('Hola, soy Ana', 0);
    clock = at(3 * 24 * 60);
    const record = await recordStaffEcho(staff, deps, true);
    expect(record).toMatchObject({ since: at(0), until: at(60) });
    expect(lines.at(-1)?.message).toBe('staff message from before the current state of the hand-off: kept for the transcript only');
    const check = await checkHandoff(key, [userMessage('hola', 3 * 24 * 60)], deps);
    // The agent learns what staff said, and answers.
    expect(check).toMatchObject({ kind: 'proceed', entryIds: [staff.wamid] });
  });

  it('a late echo delivered in order (a backlog, not a replay) still pauses: the messages behind it were written while staff were there', async () => {
    clock = at(90);
    expect(await recordStaffEcho(echo('Hola, soy Ana', 0), deps)).toMatchObject({ since: at(90), until: at(150) });
    expect(await checkHandoff(key, [userMessage('gracias', 1)], deps)).toEqual({ kind: 'paused' });
  });

  it('an echo from the same second as an operator\'s resume pauses the bot: on a tie it stays quiet', async () => {
    expect(await recordStaffEcho(echo('Hola, soy Ana', 0), deps)).toMatchObject({ until: at(60) });
    clock = new Date(at(10).getTime() + 600);
    await deps.handoffs.resume(key, clock);
    clock = at(11);
    expect(isPausedNow(await recordStaffEcho(echo('Un momento', 10), deps), clock)).toBe(true);
  });

  it('an echo written before an operator resumed the bot, met after, does not pause it again', async () => {
    expect(await recordStaffEcho(echo('Hola, soy Ana', 0), deps)).toMatchObject({ until: at(60) });
    const late = echo('Un momento', 5);
    clock = at(10);
    await deps.handoffs.resume(key, clock);
    clock = at(12);
    expect(await recordStaffEcho(late, deps)).toMatchObject({ until: at(10), endedAt: at(10) });
    expect(await checkHandoff(key, [userMessage('¿sigue ahí?', 12)], deps)).toMatchObject({ kind: 'proceed' });
  });

  it('ignores an echo of a message the bridge sent itself (a reply, a staff message through the admin API)', async () => {
    const outbound = createMemoryOutboundMessageStore();
    await outbound.recordSent({ wamid: 'wamid.bot1', phoneNumberId: PN, userId: key.userId, kind: 'reply', text: 'Echo: hola' }, at(0));
    expect(await recordStaffEcho(echo('Echo: hola', 0, 'wamid.bot1'), { ...deps, outbound })).toBeUndefined();
    expect(deps.handoffs.records.size).toBe(0);
    expect(lines.at(-1)?.message).toBe('echo of a message the bridge sent: ignored');
  });

  it('a reset word while paused is kept like any message and does not resume', async () => {
    await pauseForAgent(key, undefined, deps);
    clock = at(5);
    expect(await checkHandoff(key, [userMessage('/reset', 5)], deps)).toEqual({ kind: 'paused' });
    expect((await deps.handoffs.get(key, at(6)))?.entries.map((e) => e.text)).toEqual(['/reset']);
  });

  it('a burst while paused is kept in one store call, each message once however often the turn is delivered', async () => {
    await pauseForAgent(key, 'refund', deps);
    const store = deps.handoffs;
    const calls: number[] = [];
    const counting = {
      ...store,
      async recordWhilePaused(...args: Parameters<typeof store.recordWhilePaused>) {
        calls.push(args[1].length);
        return store.recordWhilePaused(...args);
      },
    };
    const burst = [userMessage('hola', 1), userMessage('¿hay alguien?', 1), userMessage('es por el reembolso', 2)];
    clock = at(2);
    expect(await checkHandoff(key, burst, { ...deps, handoffs: counting })).toEqual({ kind: 'paused' });
    expect(await checkHandoff(key, burst, { ...deps, handoffs: counting })).toEqual({ kind: 'paused' });
    expect(calls).toEqual([3, 3]);
    expect(lines.at(-1)).toMatchObject({ message: 'message kept for staff: the bot is paused', messages: 3 });
    expect((await store.get(key, at(3)))?.entries.map((e) => e.id)).toEqual(burst.map((m) => m.wamid));
  });

  it('a pause that ends between the read and the write keeps none of the burst: the turn proceeds with the transcript', async () => {
    await recordStaffEcho(echo('te llamo', 0), deps);
    const store = deps.handoffs;
    const racing = {
      ...store,
      async recordWhilePaused(...args: Parameters<typeof store.recordWhilePaused>) {
        await store.resume(key, args[2]);
        return store.recordWhilePaused(...args);
      },
    };
    clock = at(1);
    const check = await checkHandoff(key, [userMessage('hola', 1), userMessage('¿seguís ahí?', 1)], { ...deps, handoffs: racing });
    expect(check).toMatchObject({ kind: 'proceed', entryIds: [expect.stringMatching(/^wamid\.e/)] });
    expect(check.kind === 'proceed' && check.transcript?.split('\n').filter((line) => /^(User|Staff): /.test(line))).toEqual(['Staff: te llamo']);
    expect((await store.get(key, at(2)))?.entries.map((e) => e.from)).toEqual(['staff']);
  });
});
