import { failedSystemOf, reasonOf, RetryableError } from '../errors.js';
import type { Recipient } from '../whatsapp/graphClient.js';
import { OUTSIDE_CUSTOMER_SERVICE_WINDOW } from '../whatsapp/graphErrors.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import { readableText } from '../whatsapp/outboundMessage.js';
import type { ReplyChunk } from '../whatsapp/rendering/replyChunk.js';
import { conversationOf } from './burstTurns.js';
import { consentCommandOf } from './consentCommands.js';
import { handoffDeps, pauseForAgent } from './conversationHandoff.js';
import type { TurnContext } from './coreDeps.js';
import { isWindowOpen } from './customerServiceWindow.js';
import { isPaused } from './handoff.js';
import { holdReplies } from './reengagement.js';
import { reengagementDeps, userOf } from './userReachability.js';

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends the rendered reply, chunk by chunk, skipping those an earlier attempt sent, and records
 * each one as it goes out; the last one settles the turn as answered. What can no longer go out
 * as free text (the 24-hour window closed) is held for the user's return.
 */
export async function sendReply(ctx: TurnContext, chunks: ReplyChunk[]): Promise<'answered' | 'held'> {
  const { turn, message, record, deps, log } = ctx;
  const alreadySent = new Set(record.sentChunks.map((chunk) => chunk.index));
  if (chunks.length === 0) {
    await deps.ledger.markAnswered(turn.id);
    return 'answered';
  }
  const userWroteAt = new Date(message.timestamp * 1000);
  for (const [index, chunk] of chunks.entries()) {
    if (alreadySent.has(index)) continue;
    const isLast = index === chunks.length - 1;
    if (chunk.kind === 'handoff') {
      // handoff_to_human: it always comes last, after the turn's messages, and is recorded like a
      // sent chunk so the pause starts once.
      await pauseForAgent(userOf(ctx), chunk.reason, handoffDeps(deps, log));
      ctx.paused = true;
      await deps.ledger.recordChunkSent(turn.id, { index }, isLast);
      record.sentChunks.push({ index });
      continue;
    }
    const text = readableText(chunk.message) ?? `[${chunk.message.type}]`;
    if (!isWindowOpen(userWroteAt, ctx.now())) return holdFrom(ctx, chunks, index, 'our clock says the window closed');
    let graphMessageId: string;
    try {
      graphMessageId = await withInlineRetry(ctx, () =>
        deps.whatsapp.send({ phoneNumberId: message.phoneNumberId, to: recipientOf(message), message: chunk.message }),
      );
    } catch (error) {
      if (reasonOf(error) === OUTSIDE_CUSTOMER_SERVICE_WINDOW) return holdFrom(ctx, chunks, index, 'Meta answered 131047');
      throw error;
    }
    if (index === 0) logFirstReply(ctx, record.agentMs === undefined ? 'fixed_reply' : 'answered');
    await Promise.all([
      deps.ledger.recordChunkSent(turn.id, { index, graphMessageId }, isLast),
      deps.outbound.recordSent(
        { wamid: graphMessageId, ...userOf(ctx), kind: 'reply', inReplyTo: turn.id, chunkIndex: index, text },
        ctx.now(),
      ),
    ]);
    record.sentChunks.push({ index, graphMessageId });
  }
  log.info({ chunks: chunks.length }, 'reply sent');
  return 'answered';
}

/** The rest of the reply cannot go out as free text: hold it for the user's return, and settle the message. */
async function holdFrom(ctx: TurnContext, chunks: ReplyChunk[], from: number, why: string): Promise<'held'> {
  const heldAt = ctx.now();
  // Held replies go out later as text: a held button or list keeps its words, not its buttons.
  const replies = chunks.slice(from).flatMap((chunk, offset) => {
    const text = chunk.kind === 'message' ? readableText(chunk.message) : undefined;
    return text ? [{ id: `${ctx.turn.id}#${from + offset}`, text, heldAt }] : [];
  });
  ctx.log.info({ why, chunks: replies.length }, 'the 24-hour window has closed: holding the reply');
  // Nothing to say as text (an image alone): no hold, and no template inviting the user back to nothing.
  if (replies.length > 0) await holdReplies(userOf(ctx), replies, reengagementDeps(ctx));
  // The agent's hand-off is not a message: it takes effect now, so the user's return meets a person.
  const handoff = chunks.slice(from).find((chunk) => chunk.kind === 'handoff');
  if (handoff) await pauseForAgent(userOf(ctx), handoff.reason, handoffDeps(ctx.deps, ctx.log));
  await ctx.deps.ledger.markAnswered(ctx.turn.id);
  return 'held';
}

/**
 * The line the reply-latency metric reads, once per turn: the first thing the user gets was
 * accepted by WhatsApp. `replyLatencyMs` runs from the webhook's receipt of the turn's first
 * message (unknown for a dead-letter replay); `agentMs` is the agent's part of it.
 */
function logFirstReply(ctx: TurnContext, outcome: 'answered' | 'fixed_reply' | 'apology'): void {
  const { receivedAt } = ctx.turn;
  const replyLatencyMs = receivedAt ? ctx.now().getTime() - receivedAt.getTime() : undefined;
  ctx.log.info({ outcome, replyLatencyMs, agentMs: ctx.record.agentMs, attempt: ctx.attempt }, 'first reply chunk accepted');
}

/** Tells the user once that the message will not be answered; resolves whether an apology has been sent, never throws. */
export async function sendApology(ctx: TurnContext, error: unknown): Promise<boolean> {
  const { message, record, deps, log } = ctx;
  if (record.apologySent) return true;
  if (ctx.optedOut || ctx.paused) return false;
  // When WhatsApp is what failed (or no longer allows sending), an apology would fail the same way.
  if (failedSystemOf(error) === 'whatsapp') return false;
  if (await silentNow(ctx)) return false;
  try {
    await deps.whatsapp.sendText({ phoneNumberId: message.phoneNumberId, to: recipientOf(message), text: deps.settings.apologyText });
    if (record.sentChunks.length === 0) logFirstReply(ctx, 'apology');
    return true;
  } catch (apologyError) {
    log.error({ err: apologyError }, 'could not send the apology');
    return false;
  }
}

/**
 * Whether the user opted out or a person has the conversation, read now: the turn may have failed
 * before it read them, or they changed while it ran. When they cannot be read, nothing is said.
 */
async function silentNow(ctx: TurnContext): Promise<boolean> {
  const { message, deps } = ctx;
  // A STOP whose opt-out could not be written is still a STOP: no "sorry" in answer to it.
  if (consentCommandOf(message, deps.settings) === 'opt-out') return true;
  const now = ctx.now();
  try {
    const [optOut, handoff] = await Promise.all([deps.optOuts.get(message.phoneNumberId, message.userId), deps.handoffs.get(conversationOf(message), now)]);
    return optOut !== undefined || isPaused(handoff, now);
  } catch (error) {
    ctx.log.warn({ err: error }, 'opt-out or hand-off unreadable: no apology');
    return true;
  }
}

/** Marks the message read and shows the typing indicator; a failure only costs the indicator. */
export function showTyping(ctx: TurnContext): void {
  ctx.deps.whatsapp.markReadWithTyping(ctx.message.phoneNumberId, ctx.message.wamid).catch((error: unknown) => {
    ctx.log.warn({ err: error, reason: reasonOf(error) }, 'read receipt / typing indicator failed');
  });
}

export function recipientOf(message: InboundMessage): Recipient {
  return { userId: message.userId, phone: message.phone };
}

/** Honours a short Retry-After once within the attempt; longer waits are left to the next attempt's backoff. */
export async function withInlineRetry<T>(ctx: TurnContext, send: () => Promise<T>): Promise<T> {
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
