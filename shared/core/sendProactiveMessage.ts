import { createHash } from 'node:crypto';
import { isPermanent, PermanentError, reasonOf, RetryableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { maskUserId } from '../log/maskUserId.js';
import type { ConversationWindow, ConversationWindowStore } from '../store/conversationWindowStore.js';
import type { IdempotencyKeyStore } from '../store/idempotencyKeyStore.js';
import type { OptOutStore } from '../store/optOutStore.js';
import type { OutboundMessageStore } from '../store/outboundMessageStore.js';
import type { Recipient, TemplateRef, WhatsAppClient } from '../whatsapp/graphClient.js';
import { OUTSIDE_CUSTOMER_SERVICE_WINDOW } from '../whatsapp/graphErrors.js';
import { sendPermission } from './customerServiceWindow.js';
import type { UserOfNumber } from './reengagement.js';

export interface ProactiveRequest {
  /** The user's number (with or without `+`) or BSUID. */
  to: string;
  /** The business number it leaves from; default: the one the user last wrote to. */
  from?: string;
  text?: string;
  template?: TemplateRef;
  idempotencyKey?: string;
  /** `staff`: a person answering the user during a hand-off (recorded as such). */
  kind?: 'proactive' | 'staff';
}

export type ProactiveResult =
  | { status: 200; wamid: string; conversation: UserOfNumber }
  | { status: 400 | 409 | 422 | 429 | 502; error: string; details?: string; code?: number; retryAfterSeconds?: number };

export interface ProactiveDeps {
  windows: ConversationWindowStore;
  optOuts: OptOutStore;
  outbound: OutboundMessageStore;
  idempotency: IdempotencyKeyStore;
  whatsapp: WhatsAppClient;
  log: Logger;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  /** Longest Retry-After worth waiting for before answering 429. */
  maxInlineRetryWaitMs: number;
}

/**
 * Sends a message the business starts (not a reply), through the same rules as replies: never
 * to an opted-out user, free text only inside the 24-hour window, recorded so its statuses are
 * tracked, and at most once per Idempotency-Key.
 */
export async function sendProactiveMessage(request: ProactiveRequest, deps: ProactiveDeps): Promise<ProactiveResult> {
  const to = /^\+?\d+$/.test(request.to) ? request.to.replace(/^\+/, '') : request.to;
  const latest = await deps.windows.latest(to);
  const from = request.from ?? latest?.phoneNumberId;
  if (!from) {
    return { status: 400, error: 'from_required', details: 'this user never wrote to the bridge: say which business number it leaves from' };
  }
  const window = latest?.phoneNumberId === from ? latest : await deps.windows.get(from, latest?.userId ?? to);
  const userId = window?.userId ?? latest?.userId ?? to;
  const phone = window?.phone ?? latest?.phone ?? (/^\d+$/.test(to) ? to : undefined);
  const conversation = { phoneNumberId: from, userId, phone };
  const log = deps.log.child({ user: maskUserId(userId), from });

  const key = request.idempotencyKey;
  if (key !== undefined) {
    // A repeat is answered as the first request was, whatever changed since (the window, the number the user last wrote to).
    const claim = await deps.idempotency.claim(key, fingerprintOf(request), deps.now());
    if (claim.outcome === 'done') return { status: 200, wamid: claim.wamid, conversation: await conversationOfSent(claim.wamid, conversation, deps) };
    if (claim.outcome === 'in-progress') {
      return { status: 409, error: 'in_progress', details: 'a request with this Idempotency-Key is being sent (or its outcome is unknown)' };
    }
    if (claim.outcome === 'mismatch') return { status: 422, error: 'idempotency_key_reused', details: 'this key was used for a different message' };
  }
  // Nothing was sent (refused, or the checks failed): the same key may try again.
  const freeKey = async () => {
    if (key !== undefined) await deps.idempotency.release(key);
  };
  const refused = await refusedBeforeSending(request, conversation, window, deps, log).catch(async (error: unknown) => {
    await freeKey().catch((releaseError: unknown) => log.warn({ err: releaseError }, 'Idempotency-Key not released'));
    throw error;
  });
  if (refused) {
    await freeKey();
    return refused;
  }

  const recipient: Recipient = { userId, phone };
  let wamid: string;
  try {
    wamid = await withInlineRetry(
      () =>
        request.template
          ? deps.whatsapp.sendTemplate({ phoneNumberId: from, to: recipient, template: request.template })
          : deps.whatsapp.sendText({ phoneNumberId: from, to: recipient, text: request.text ?? '' }),
      deps,
    );
  } catch (error) {
    // Meta refused it, so nothing went out. A network failure may have been accepted, and an
    // answer without a message id was, so their key stays claimed rather than risk a second message.
    const outcomeUnknown = error instanceof RetryableError && (error.reason === 'graph_network' || error.reason === 'graph_no_id');
    if (!outcomeUnknown) await freeKey();
    return refusal(error, log);
  }
  await Promise.all([
    deps.outbound.recordSent(
      {
        wamid,
        phoneNumberId: from,
        userId,
        phone,
        kind: request.template ? 'template' : (request.kind ?? 'proactive'),
        text: request.text ?? `[template ${request.template?.name}]`,
      },
      deps.now(),
    ),
    key !== undefined && deps.idempotency.complete(key, wamid),
  ]);
  log.info({ wamid, kind: request.template ? 'template' : 'text', sentBy: request.kind ?? 'proactive' }, 'proactive message sent');
  return { status: 200, wamid, conversation };
}

/** The conversation a repeated request's message went to, as recorded when it was sent (the user may have written to another number since). */
async function conversationOfSent(wamid: string, resolved: UserOfNumber, deps: ProactiveDeps): Promise<UserOfNumber> {
  const sent = await deps.outbound.get(wamid);
  return sent ? { phoneNumberId: sent.phoneNumberId, userId: sent.userId, phone: sent.phone } : resolved;
}

/**
 * Never to an opted-out user (looked up by phone too: a user named by phone whose window has
 * expired may have opted out under their BSUID); free text only inside the 24-hour window.
 */
async function refusedBeforeSending(
  request: ProactiveRequest,
  { phoneNumberId, userId, phone }: UserOfNumber,
  window: ConversationWindow | undefined,
  deps: ProactiveDeps,
  log: Logger,
): Promise<ProactiveResult | undefined> {
  const [byId, byPhone] = await Promise.all([
    deps.optOuts.get(phoneNumberId, userId),
    phone === undefined ? undefined : deps.optOuts.getByPhone(phoneNumberId, phone),
  ]);
  const optedOut = byId !== undefined || byPhone !== undefined;
  const permission = sendPermission({ optedOut, ...(window ? { lastUserMessageAt: window.lastUserMessageAt } : {}) }, deps.now());
  if (permission === 'opted-out') {
    log.info('proactive message refused: the user opted out');
    return { status: 409, error: 'opted_out' };
  }
  if (request.text !== undefined && permission === 'template-only') {
    return { status: 409, error: 'outside_window', details: 'free text needs a user message in the last 24 hours; send a template' };
  }
  return undefined;
}

/** The request as sent: a repeat without `from` is the same message wherever the user wrote since. */
function fingerprintOf(request: ProactiveRequest): string {
  const { idempotencyKey: _key, ...content } = request;
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

async function withInlineRetry<T>(send: () => Promise<T>, deps: ProactiveDeps): Promise<T> {
  try {
    return await send();
  } catch (error) {
    const waitMs = error instanceof RetryableError ? error.retryAfterMs : undefined;
    if (waitMs === undefined || waitMs > deps.maxInlineRetryWaitMs) throw error;
    await deps.sleep(waitMs);
    return send();
  }
}

function refusal(error: unknown, log: Logger): ProactiveResult {
  const fields = (error as PermanentError).fields ?? {};
  const code = typeof fields.graphErrorCode === 'number' ? fields.graphErrorCode : undefined;
  const details = error instanceof Error ? error.message : String(error);
  log.warn({ err: error, reason: reasonOf(error), graphErrorCode: code }, 'proactive message refused by WhatsApp');
  if (reasonOf(error) === OUTSIDE_CUSTOMER_SERVICE_WINDOW) return { status: 409, error: 'outside_window', details, code: 131047 };
  if (isPermanent(error)) return { status: 400, error: 'rejected_by_whatsapp', details, ...(code !== undefined ? { code } : {}) };
  if (error instanceof RetryableError && error.retryAfterMs !== undefined) {
    return {
      status: 429,
      error: 'rate_limited',
      details,
      ...(code !== undefined ? { code } : {}),
      retryAfterSeconds: Math.ceil(error.retryAfterMs / 1000),
    };
  }
  return { status: 502, error: 'whatsapp_unavailable', details, ...(code !== undefined ? { code } : {}) };
}
