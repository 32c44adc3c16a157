import { PermanentError, reasonOf, RetryableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { HandoffStore } from '../store/handoffStore.js';
import type { HeldReplies, HeldReply, HeldReplyStore } from '../store/heldReplyStore.js';
import type { OptOutStore } from '../store/optOutStore.js';
import type { OutboundMessageStore } from '../store/outboundMessageStore.js';
import type { Recipient, TemplateRef, WhatsAppClient } from '../whatsapp/graphClient.js';
import { isPaused } from './handoff.js';
import { settingsFor, type NumberRoutes } from './numberRoutes.js';

export interface ReengagementSettings {
  /** The approved template that invites the user back; without it replies are held and nothing is sent. */
  reengageTemplate?: TemplateRef;
  heldReplyTtlMs: number;
}

export interface ReengagementDeps {
  held: HeldReplyStore;
  optOuts: OptOutStore;
  outbound: OutboundMessageStore;
  whatsapp: WhatsAppClient;
  log: Logger;
  settings: ReengagementSettings;
  /** A business number may have its own template (TEXTS_BY_NUMBER). */
  numbers: Pick<NumberRoutes<unknown>, 'settingsOf'>;
  now: () => Date;
  /** While a person has the conversation the bot invites nobody back: the reply waits without a template. */
  handoffs?: HandoffStore;
}

export interface UserOfNumber {
  phoneNumberId: string;
  userId: string;
  phone?: string;
}

const recipientOf = (user: UserOfNumber): Recipient => ({ userId: user.userId, ...(user.phone ? { phone: user.phone } : {}) });

/**
 * Keeps replies that can no longer go out as free text (the window closed) until the user writes
 * again, and sends the re-engagement template once per hold. A template refused for a reason a
 * retry can fix is thrown, so the caller's delivery is retried; any other refusal is logged and
 * the replies stay held.
 */
export async function holdReplies(user: UserOfNumber, replies: HeldReply[], deps: ReengagementDeps): Promise<void> {
  const { held, log, settings } = deps;
  if (await deps.optOuts.get(user.phoneNumberId, user.userId)) {
    log.info({ replies: replies.length }, 'reply not held: the user has opted out');
    return;
  }
  const { sendTemplate } = await held.hold({ ...user, replies, now: deps.now(), ttlMs: settings.heldReplyTtlMs });
  log.info({ replies: replies.length, heldForMs: settings.heldReplyTtlMs }, 'reply held until the user writes again');
  if (!sendTemplate) {
    log.info('re-engagement template already sent for this hold');
    return;
  }
  const now = deps.now();
  if (deps.handoffs && isPaused(await deps.handoffs.get(user, now), now)) {
    await held.releaseTemplateClaim(user.phoneNumberId, user.userId);
    log.info('a person has the conversation: no re-engagement template');
    return;
  }
  const template = settingsFor(deps, user.phoneNumberId).reengageTemplate;
  if (!template) {
    log.warn('no REENGAGE_TEMPLATE for this business number: the reply is held but nothing invites the user back');
    return;
  }
  let wamid: string;
  try {
    wamid = await deps.whatsapp.sendTemplate({ phoneNumberId: user.phoneNumberId, to: recipientOf(user), template });
  } catch (error) {
    if (error instanceof RetryableError) {
      await held.releaseTemplateClaim(user.phoneNumberId, user.userId);
      throw error;
    }
    log.error(
      { err: error, reason: reasonOf(error), template: template.name, ...(error as PermanentError).fields },
      're-engagement template refused: the reply stays held',
    );
    return;
  }
  await Promise.all([
    held.templateSent(user.phoneNumberId, user.userId, wamid),
    deps.outbound.recordSent({ wamid, ...user, kind: 'template', text: `[template ${template.name}]` }, deps.now()),
  ]);
  log.info({ templateWamid: wamid, template: template.name }, 're-engagement template sent');
}

/**
 * The user wrote again, so the window is open: sends what was held, oldest first, each once
 * (a reply is struck off right after it is sent, as reply chunks are).
 */
export async function deliverHeldReplies(
  user: UserOfNumber,
  deps: ReengagementDeps,
  hold: HeldReplies,
  send: (text: string) => Promise<string>,
): Promise<void> {
  for (const reply of hold.replies) {
    const wamid = await send(reply.text);
    await Promise.all([
      deps.held.delivered(user.phoneNumberId, user.userId, reply.id),
      deps.outbound.recordSent({ wamid, ...user, kind: 'held-reply', text: reply.text }, deps.now()),
    ]);
  }
  deps.log.info({ replies: hold.replies.length }, 'held replies delivered before the answer');
}
