import { describe, expect, it } from 'vitest';
import {
  createMemoryConversationWindowStore,
  createMemoryIdempotencyKeyStore,
  createMemoryOptOutStore,
  createMemoryOutboundMessageStore,
} from '../../test/fakes/memoryStores.js';
import { RetryableError } from '../errors.js';
import { createLogger } from '../log/logger.js';
import type { WhatsAppClient } from '../whatsapp/graphClient.js';
import { sendProactiveMessage, type ProactiveDeps } from './sendProactiveMessage.js';

function setup() {
  let clock = Date.parse('2026-12-05T12:00:00Z');
  const sent: string[] = [];
  let failures: Error[] = [];
  const accept = (what: string) => {
    sent.push(what);
    const failure = failures.shift();
    if (failure) throw failure;
    return `wamid.p${sent.length}`;
  };
  const whatsapp = {
    async sendText({ text }: { text: string }) {
      return accept(`text:${text}`);
    },
    async sendTemplate({ template }: { template: { name: string } }) {
      return accept(`template:${template.name}`);
    },
  } as unknown as WhatsAppClient;
  const deps: ProactiveDeps = {
    windows: createMemoryConversationWindowStore(),
    optOuts: createMemoryOptOutStore(),
    outbound: createMemoryOutboundMessageStore(),
    idempotency: createMemoryIdempotencyKeyStore(),
    whatsapp,
    log: createLogger('test', 'silent'),
    now: () => new Date(clock),
    sleep: async () => undefined,
    maxInlineRetryWaitMs: 0,
  };
  return {
    deps,
    sent,
    failNext: (...errors: Error[]) => (failures = errors),
    advance: (ms: number) => (clock += ms),
    now: () => new Date(clock),
  };
}

const PN = '111111111111111';
const BSUID = 'AR.1234567890';
const PHONE = '5491155550001';

describe('sendProactiveMessage', () => {
  it('keeps the Idempotency-Key claimed when Meta accepted the send without a message id (graph_no_id): no second message', async () => {
    const s = setup();
    await s.deps.windows.noteUserMessage({ phoneNumberId: PN, userId: BSUID, phone: PHONE, lastUserMessageAt: s.now() });
    // Graph answered 2xx (the message went out) but its body carried no message id.
    s.failNext(new RetryableError('Graph API accepted the send but returned no message id', 'graph_no_id', { system: 'whatsapp' }));
    const request = { to: PHONE, text: 'Your order shipped', idempotencyKey: 'order-42-shipped' };
    const first = await sendProactiveMessage(request, s.deps);
    expect(first.status).toBe(502);
    // The caller retries with the same key, as it is meant to.
    const second = await sendProactiveMessage(request, s.deps);
    expect(second).toMatchObject({ status: 409, error: 'in_progress' });
    expect(s.sent).toEqual(['text:Your order shipped']);
  });

  it('never sends to a user who opted out under their BSUID when named by phone after their window record expired', async () => {
    const s = setup();
    // The user (BSUID on the webhook, phone known) sent STOP to PN; opt-outs are kept forever.
    await s.deps.optOuts.optOut({ phoneNumberId: PN, userId: BSUID, phone: PHONE, command: 'STOP', optedOutAt: s.now() });
    // 31 days later their conversation_windows record has expired (TTL 30 days): none left.
    s.advance(31 * 24 * 3600_000);
    const result = await sendProactiveMessage({ to: `+${PHONE}`, from: PN, template: { name: 'promo', language: 'en' } }, s.deps);
    expect(result).toMatchObject({ status: 409, error: 'opted_out' });
    expect(s.sent).toEqual([]);
  });

  it('answers a repeat of a key with the first wamid, even once the window has closed', async () => {
    const s = setup();
    await s.deps.windows.noteUserMessage({ phoneNumberId: PN, userId: BSUID, phone: PHONE, lastUserMessageAt: s.now() });
    s.advance(23.5 * 3600_000);
    const request = { to: PHONE, text: 'Your order shipped', idempotencyKey: 'order-42-shipped' };
    const first = await sendProactiveMessage(request, s.deps);
    expect(first).toMatchObject({ status: 200, wamid: 'wamid.p1' });
    // The caller lost the answer and retries an hour later (well inside the key's 24 hours).
    s.advance(3600_000);
    const again = await sendProactiveMessage(request, s.deps);
    expect(again).toMatchObject({ status: 200, wamid: 'wamid.p1' });
  });

  it('answers a repeat without `from` with the first wamid, not 422, after the user wrote to another number', async () => {
    const s = setup();
    await s.deps.windows.noteUserMessage({ phoneNumberId: PN, userId: BSUID, phone: PHONE, lastUserMessageAt: s.now() });
    const request = { to: PHONE, template: { name: 'order_update', language: 'en' }, idempotencyKey: 'order-7' };
    const first = await sendProactiveMessage(request, s.deps);
    expect(first).toMatchObject({ status: 200, wamid: 'wamid.p1' });
    s.advance(60_000);
    await s.deps.windows.noteUserMessage({ phoneNumberId: '222222222222222', userId: BSUID, phone: PHONE, lastUserMessageAt: s.now() });
    const again = await sendProactiveMessage(request, s.deps);
    expect(again).toMatchObject({ status: 200, wamid: 'wamid.p1', conversation: { phoneNumberId: PN, userId: BSUID } });
  });

  it('frees the key of a request refused before sending: the same request goes out once the user opts back in', async () => {
    const s = setup();
    await s.deps.windows.noteUserMessage({ phoneNumberId: PN, userId: BSUID, phone: PHONE, lastUserMessageAt: s.now() });
    await s.deps.optOuts.optOut({ phoneNumberId: PN, userId: BSUID, phone: PHONE, command: 'STOP', optedOutAt: s.now() });
    const request = { to: PHONE, template: { name: 'promo', language: 'en' }, idempotencyKey: 'promo-1' };
    expect(await sendProactiveMessage(request, s.deps)).toMatchObject({ status: 409, error: 'opted_out' });
    await s.deps.optOuts.optIn(PN, BSUID);
    expect(await sendProactiveMessage(request, s.deps)).toMatchObject({ status: 200, wamid: 'wamid.p1' });
    expect(s.sent).toEqual(['template:promo']);
  });

  it('frees the key when the checks before sending fail: the caller\'s retry sends, once', async () => {
    const s = setup();
    await s.deps.windows.noteUserMessage({ phoneNumberId: PN, userId: BSUID, phone: PHONE, lastUserMessageAt: s.now() });
    const getByPhone = s.deps.optOuts.getByPhone.bind(s.deps.optOuts);
    let failures = 1;
    s.deps.optOuts.getByPhone = async (...args) => {
      if (failures-- > 0) throw new Error('14 UNAVAILABLE');
      return getByPhone(...args);
    };
    const request = { to: PHONE, text: 'Your order shipped', idempotencyKey: 'order-43' };
    await expect(sendProactiveMessage(request, s.deps)).rejects.toThrow(/UNAVAILABLE/);
    expect(await sendProactiveMessage(request, s.deps)).toMatchObject({ status: 200, wamid: 'wamid.p1' });
    expect(s.sent).toEqual(['text:Your order shipped']);
  });
});
