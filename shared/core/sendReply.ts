import { failedSystemOf, reasonOf, RetryableError } from '../errors.js';
import { markdownToWhatsApp } from '../whatsapp/formatting/markdownToWhatsApp.js';
import { splitMessage } from '../whatsapp/formatting/splitMessage.js';
import type { Recipient } from '../whatsapp/graphClient.js';
import { OUTSIDE_CUSTOMER_SERVICE_WINDOW } from '../whatsapp/graphErrors.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import type { MessageContext } from './coreDeps.js';
import { isWindowOpen } from './customerServiceWindow.js';
import { holdReplies } from './reengagement.js';
import { reengagementDeps, userOf } from './userReachability.js';

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends the reply in WhatsApp-sized chunks, skipping those an earlier attempt sent, and records
 * each one as it goes out; the last one settles the message as answered. What can no longer go
 * out as free text (the 24-hour window closed) is held for the user's return.
 */
export async function sendReply(ctx: MessageContext, replyText: string): Promise<'answered' | 'held'> {
  const { message, record, deps, log } = ctx;
  const chunks = replyText ? splitMessage(markdownToWhatsApp(replyText), deps.settings.maxReplyChars) : [];
  const alreadySent = new Set(record.sentChunks.map((chunk) => chunk.index));
  if (chunks.length === 0) {
    await deps.ledger.markAnswered(message.wamid);
    return 'answered';
  }
  const userWroteAt = new Date(message.timestamp * 1000);
  for (const [index, text] of chunks.entries()) {
    if (alreadySent.has(index)) continue;
    if (!isWindowOpen(userWroteAt, ctx.now())) return holdFrom(ctx, chunks, index, 'our clock says the window closed');
    let graphMessageId: string;
    try {
      graphMessageId = await withInlineRetry(ctx, () =>
        deps.whatsapp.sendText({ phoneNumberId: message.phoneNumberId, to: recipientOf(message), text }),
      );
    } catch (error) {
      if (reasonOf(error) === OUTSIDE_CUSTOMER_SERVICE_WINDOW) return holdFrom(ctx, chunks, index, 'Meta answered 131047');
      throw error;
    }
    await Promise.all([
      deps.ledger.recordChunkSent(message.wamid, { index, graphMessageId }, index === chunks.length - 1),
      deps.outbound.recordSent(
        { wamid: graphMessageId, ...userOf(ctx), kind: 'reply', inReplyTo: message.wamid, chunkIndex: index, text },
        ctx.now(),
      ),
    ]);
    record.sentChunks.push({ index, graphMessageId });
  }
  log.info({ chunks: chunks.length }, 'reply sent');
  return 'answered';
}

/** The rest of the reply cannot go out as free text: hold it for the user's return, and settle the message. */
async function holdFrom(ctx: MessageContext, chunks: string[], from: number, why: string): Promise<'held'> {
  const heldAt = ctx.now();
  const replies = chunks.slice(from).map((text, offset) => ({ id: `${ctx.message.wamid}#${from + offset}`, text, heldAt }));
  ctx.log.info({ why, chunks: replies.length }, 'the 24-hour window has closed: holding the reply');
  await holdReplies(userOf(ctx), replies, reengagementDeps(ctx));
  await ctx.deps.ledger.markAnswered(ctx.message.wamid);
  return 'held';
}

/** Tells the user once that the message will not be answered; resolves whether an apology has been sent, never throws. */
export async function sendApology(ctx: MessageContext, error: unknown): Promise<boolean> {
  const { message, record, deps, log } = ctx;
  if (record.apologySent) return true;
  if (ctx.optedOut) return false;
  // When WhatsApp is what failed (or no longer allows sending), an apology would fail the same way.
  if (failedSystemOf(error) === 'whatsapp') return false;
  try {
    await deps.whatsapp.sendText({ phoneNumberId: message.phoneNumberId, to: recipientOf(message), text: deps.settings.apologyText });
    return true;
  } catch (apologyError) {
    log.error({ err: apologyError }, 'could not send the apology');
    return false;
  }
}

/** Marks the message read and shows the typing indicator; a failure only costs the indicator. */
export function showTyping(ctx: MessageContext): void {
  ctx.deps.whatsapp.markReadWithTyping(ctx.message.phoneNumberId, ctx.message.wamid).catch((error: unknown) => {
    ctx.log.warn({ err: error, reason: reasonOf(error) }, 'read receipt / typing indicator failed');
  });
}

export function recipientOf(message: InboundMessage): Recipient {
  return { userId: message.userId, phone: message.phone };
}

/** Honours a short Retry-After once within the attempt; longer waits are left to the next attempt's backoff. */
export async function withInlineRetry<T>(ctx: MessageContext, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    const waitMs = error instanceof RetryableError ? error.retryAfterMs : undefined;
    if (waitMs === undefined || waitMs > ctx.deps.settings.maxInlineRetryWaitMs) throw error;
    ctx.log.warn({ waitMs, reason: reasonOf(error) }, 'Graph asked to wait: retrying once');
    await (ctx.deps.sleep ?? wait)(waitMs);
    return send();
  }
}
