import { failedSystemOf, PermanentError, reasonOf, RetryableError } from '../errors.js';
import { markdownToWhatsApp } from '../whatsapp/formatting/markdownToWhatsApp.js';
import { splitMessage } from '../whatsapp/formatting/splitMessage.js';
import type { Recipient } from '../whatsapp/graphClient.js';
import { OUTSIDE_CUSTOMER_SERVICE_WINDOW } from '../whatsapp/graphErrors.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import type { MessageContext } from './coreDeps.js';

/** WhatsApp's customer-service window: free-form replies only within 24 h of the user's message. */
const CUSTOMER_SERVICE_WINDOW_MS = 24 * 3600 * 1000;

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends the reply in WhatsApp-sized chunks, skipping those an earlier attempt sent, and records
 * each one as it goes out; the last one settles the message as answered.
 */
export async function sendReply(ctx: MessageContext, replyText: string): Promise<void> {
  const { message, record, deps, log } = ctx;
  const chunks = replyText ? splitMessage(markdownToWhatsApp(replyText), deps.settings.maxReplyChars) : [];
  const alreadySent = new Set(record.sentChunks.map((chunk) => chunk.index));
  if (chunks.length === 0) {
    await deps.ledger.markAnswered(message.wamid);
    return;
  }
  const userWroteAt = message.timestamp * 1000;
  for (const [index, text] of chunks.entries()) {
    if (alreadySent.has(index)) continue;
    if (ctx.now().getTime() - userWroteAt > CUSTOMER_SERVICE_WINDOW_MS) {
      // WhatsApp would refuse the send (code 131047): the same failure, found before the call.
      throw new PermanentError('the reply would fall outside the 24-hour customer-service window', OUTSIDE_CUSTOMER_SERVICE_WINDOW, {
        system: 'whatsapp',
      });
    }
    const graphMessageId = await withInlineRetry(ctx, () =>
      deps.whatsapp.sendText({ phoneNumberId: message.phoneNumberId, to: recipientOf(message), text }),
    );
    await deps.ledger.recordChunkSent(message.wamid, { index, graphMessageId }, index === chunks.length - 1);
    record.sentChunks.push({ index, graphMessageId });
  }
  log.info({ chunks: chunks.length }, 'reply sent');
}

/** Tells the user once that the message will not be answered; resolves whether an apology has been sent, never throws. */
export async function sendApology(ctx: MessageContext, error: unknown): Promise<boolean> {
  const { message, record, deps, log } = ctx;
  if (record.apologySent) return true;
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
async function withInlineRetry<T>(ctx: MessageContext, send: () => Promise<T>): Promise<T> {
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
