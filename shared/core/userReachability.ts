import type { HeldReplies } from '../store/heldReplyStore.js';
import type { TurnContext } from './coreDeps.js';
import { isWindowOpen } from './customerServiceWindow.js';
import { deliverHeldReplies, type ReengagementDeps, type UserOfNumber } from './reengagement.js';
import { recipientOf, withInlineRetry } from './sendReply.js';

/** The user on the business number the message came to. */
export function userOf(ctx: TurnContext): UserOfNumber {
  const { phoneNumberId, userId, phone } = ctx.message;
  return { phoneNumberId, userId, phone };
}

export function reengagementDeps(ctx: TurnContext): ReengagementDeps {
  return { ...ctx.deps, log: ctx.log, now: ctx.now };
}

/** Records the user's STOP or START; no agent turn. */
export async function recordConsent(ctx: TurnContext, consent: 'opt-out' | 'opt-in'): Promise<void> {
  const { message, deps, log } = ctx;
  const { phoneNumberId, userId, phone } = message;
  if (consent === 'opt-in') {
    await deps.optOuts.optIn(phoneNumberId, userId);
    log.info('the user opted back in');
    return;
  }
  const command = message.content.kind === 'text' || message.content.kind === 'button' ? message.content.text.trim() : '';
  await Promise.all([
    // When the user wrote it (Meta's time), so a START written before it cannot lift it later.
    deps.optOuts.optOut({ phoneNumberId, userId, phone, command, optedOutAt: new Date(message.timestamp * 1000) }),
    deps.held.discard(phoneNumberId, userId),
  ]);
  log.info('the user opted out: nothing more will be sent until they opt back in');
}

/** The user's message opens (or keeps open) the 24-hour window for this business number. */
export async function noteConversationWindow(ctx: TurnContext): Promise<void> {
  const { message, deps, log } = ctx;
  const wroteAt = new Date(message.timestamp * 1000);
  // A replayed old message opens nothing: leave the record of the latest one alone.
  if (!isWindowOpen(wroteAt, ctx.now())) return;
  await deps.windows
    .noteUserMessage({ phoneNumberId: message.phoneNumberId, userId: message.userId, phone: message.phone, lastUserMessageAt: wroteAt })
    .catch((error: unknown) => log.warn({ err: error }, 'conversation window not recorded'));
}

/** Sends the replies held while the window was closed, before this message's answer. */
export async function deliverHeld(ctx: TurnContext, hold: HeldReplies): Promise<void> {
  const { message, deps } = ctx;
  // A replayed old message does not reopen the window: the replies keep waiting.
  if (!isWindowOpen(new Date(message.timestamp * 1000), ctx.now())) return;
  await deliverHeldReplies(userOf(ctx), reengagementDeps(ctx), hold, (text) =>
    withInlineRetry(ctx, () => deps.whatsapp.sendText({ phoneNumberId: message.phoneNumberId, to: recipientOf(message), text })),
  );
}
