import { SessionNotFoundError, type AgentTurn } from '../agent/agentClient.js';
import { reasonOf } from '../errors.js';
import type { AgentMedia, MediaRef, PreparedMedia } from '../media/agentMedia.js';
import type { AgentReplyPart } from '../agent/parseAgentEvents.js';
import { countTurn, type RateWindow } from '../store/rateLimiter.js';
import { sessionFor, startNewSession, type ConversationWrites } from './agentSession.js';
import type { ConversationState } from './conversationState.js';
import type { TurnContext } from './coreDeps.js';
import type { AgentPart } from './decideTurnAction.js';
import { describeTooLargeMedia, describeUnreadableMedia } from './describeUnreadableMedia.js';
import { withQuotedReply } from './quotedReply.js';
import { withResumeTranscript } from './resumeTranscript.js';
import { showTyping } from './sendReply.js';

export interface AgentAnswer {
  /** Text and WhatsApp tool calls, in the order the agent produced them. */
  parts: AgentReplyPart[];
  /** The agent was called and answered (not held back by the rate limit): the session saw activity. */
  agentAnswered: boolean;
  /** The conversation's bookkeeping, to write with the stored reply. */
  writes: ConversationWrites;
}

/**
 * One agent turn for the turn's messages, in order: counted against the user's rate limit, in the
 * user's session (a new one when it is gone), with the typing indicator kept alive while the agent
 * works. The agent's time is kept in the record, so a retry after a failed send still knows it.
 * `transcript`: what was said while a person had the conversation, before the user's words.
 */
export async function askAgent(
  ctx: TurnContext,
  parts: AgentPart[],
  conversation: Pick<ConversationState, 'session' | 'rateWindow'>,
  transcript?: string,
): Promise<AgentAnswer> {
  const { message, deps, log, record, agent } = ctx;
  const { settings } = deps;
  const limit = rateLimited(ctx, conversation.rateWindow);
  const writes: ConversationWrites = { rateWindow: limit.rateWindow };
  if (limit.reply !== undefined) return { parts: textParts(limit.reply), agentAnswered: false, writes };
  const prepared = await Promise.all(parts.map((part) => (part.media ? prepareUnlessTooLarge(ctx, part.media) : undefined)));
  // The user can do something about an attachment over its limit: when the turn is nothing else, say
  // so, instead of an apology after five attempts; otherwise the agent answers the rest, told of it.
  if (prepared.every((item) => item === TOO_LARGE)) return { parts: textParts(settings.mediaTooLargeText), agentAnswered: false, writes };
  const media = prepared.filter((item): item is AgentMedia => item !== undefined && item !== TOO_LARGE && item.kind !== 'unreadable');
  const partTexts = parts.map((part, index) => {
    const item = prepared[index];
    if (item === TOO_LARGE) return `${part.text}\n${describeTooLargeMedia(part.media!.mediaType)}`;
    if (item?.kind !== 'unreadable') return part.text;
    log.info({ mimeType: item.mimeType, sizeBytes: item.sizeBytes }, 'attachment of a type the agent cannot read: described to it, not attached');
    return `${part.text}\n${describeUnreadableMedia(item)}`;
  });
  const text = withResumeTranscript(transcript, (await Promise.all(parts.map((part, index) => withQuotedReply(ctx, partTexts[index]!, part.quotes)))).join('\n'));
  const typing = setInterval(() => showTyping(ctx), settings.typingRefreshMs);
  try {
    const isFirstContact = conversation.session === undefined;
    let { sessionId, created } = await sessionFor(ctx, conversation.session);
    const turn = (): AgentTurn => ({ userId: message.userId, sessionId, text, media: media.length > 0 ? media : undefined });
    const started = Date.now();
    let reply: AgentReplyPart[];
    try {
      reply = await agent.query(turn());
    } catch (error) {
      if (!(error instanceof SessionNotFoundError)) throw error;
      log.info('agent session is gone: starting a new one');
      created = await startNewSession(ctx);
      sessionId = created.agentSessionId;
      reply = await agent.query(turn());
    }
    record.agentMs = Date.now() - started;
    log.info({ agentMs: record.agentMs, replyParts: reply.map((part) => (part.kind === 'text' ? 'text' : part.name)) }, 'agent answered');
    writes.session = created ?? 'touch';
    return { parts: isFirstContact && settings.welcomeText ? withWelcome(settings.welcomeText, reply) : reply, agentAnswered: true, writes };
  } finally {
    clearInterval(typing);
  }
}

const TOO_LARGE = 'too large';

async function prepareUnlessTooLarge(ctx: TurnContext, ref: MediaRef): Promise<PreparedMedia | typeof TOO_LARGE> {
  try {
    return await ctx.deps.media.prepare(ref);
  } catch (error) {
    if (reasonOf(error) !== 'media_too_large') throw error;
    ctx.log.warn({ err: error, reason: 'media_too_large' }, 'attachment over its size limit: not passed on, nothing stored');
    return TOO_LARGE;
  }
}

/**
 * Counts the turn against the user's per-minute limit (once, however many messages it answers or
 * how often it is retried). Over the limit: the slow-down text the first time, then '' (nothing
 * sent); within it: undefined. Fixed replies count too, or a flood of stickers would get a reply
 * each. `rateWindow`: the count to store with the reply.
 */
export function rateLimited(ctx: TurnContext, window: RateWindow | undefined): { reply: string | undefined; rateWindow?: RateWindow } {
  const { settings } = ctx.deps;
  const { hits, next } = countTurn(window, ctx.turn.id, ctx.now());
  if (hits <= settings.rateLimitPerMinute) return { reply: undefined, rateWindow: next };
  ctx.log.warn({ hits, limit: settings.rateLimitPerMinute }, 'user over the rate limit: no agent call, no fixed reply');
  return { reply: hits === settings.rateLimitPerMinute + 1 ? settings.slowDownText : '', rateWindow: next };
}

export function textParts(text: string): AgentReplyPart[] {
  return text ? [{ kind: 'text', text }] : [];
}

/** The welcome opens the first text of the reply, so it reads as one message with it. */
function withWelcome(welcome: string, reply: AgentReplyPart[]): AgentReplyPart[] {
  const [first, ...rest] = reply;
  if (first?.kind === 'text') return [{ kind: 'text', text: `${welcome}\n\n${first.text}` }, ...rest];
  return [{ kind: 'text', text: welcome }, ...reply];
}
