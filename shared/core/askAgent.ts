import { SessionNotFoundError, type AgentTurn } from '../agent/agentClient.js';
import { reasonOf } from '../errors.js';
import type { AgentMedia } from '../media/agentMedia.js';
import type { AgentReplyPart } from '../agent/parseAgentEvents.js';
import { sessionIdFor, startNewSession } from './agentSession.js';
import type { TurnContext } from './coreDeps.js';
import type { AgentPart } from './decideTurnAction.js';
import { withQuotedReply } from './quotedReply.js';
import { withResumeTranscript } from './resumeTranscript.js';
import { showTyping } from './sendReply.js';

export interface AgentAnswer {
  /** Text and WhatsApp tool calls, in the order the agent produced them. */
  parts: AgentReplyPart[];
  /** The agent was called and answered (not held back by the rate limit): the session saw activity. */
  agentAnswered: boolean;
}

/**
 * One agent turn for the turn's messages, in order: counted against the user's rate limit, in the
 * user's session (a new one when it is gone), with the typing indicator kept alive while the agent
 * works. The agent's time is kept in the record, so a retry after a failed send still knows it.
 * `transcript`: what was said while a person had the conversation, before the user's words.
 */
export async function askAgent(ctx: TurnContext, parts: AgentPart[], transcript?: string): Promise<AgentAnswer> {
  const { message, deps, log, record, agent } = ctx;
  const { settings } = deps;
  const [limitedReply, existing] = await Promise.all([rateLimited(ctx), deps.sessions.get(message)]);
  if (limitedReply !== undefined) return { parts: textParts(limitedReply), agentAnswered: false };
  const text = withResumeTranscript(transcript, (await Promise.all(parts.map((part) => withQuotedReply(ctx, part.text, part.quotes)))).join('\n'));
  const refs = parts.flatMap((part) => (part.media ? [part.media] : []));
  let media: AgentMedia[];
  try {
    media = await Promise.all(refs.map((ref) => deps.media.prepare(ref)));
  } catch (error) {
    if (reasonOf(error) !== 'media_too_large') throw error;
    // The user can do something about this one: say so, instead of an apology after five attempts.
    log.warn({ err: error, reason: 'media_too_large' }, 'attachment over its size limit: not passed on, nothing stored');
    return { parts: textParts(settings.mediaTooLargeText), agentAnswered: false };
  }
  const typing = setInterval(() => showTyping(ctx), settings.typingRefreshMs);
  try {
    const isFirstContact = existing === undefined;
    let sessionId = await sessionIdFor(ctx, existing);
    const turn = (): AgentTurn => ({ userId: message.userId, sessionId, text, media: media.length > 0 ? media : undefined });
    const started = Date.now();
    let reply: AgentReplyPart[];
    try {
      reply = await agent.query(turn());
    } catch (error) {
      if (!(error instanceof SessionNotFoundError)) throw error;
      log.info('agent session is gone: starting a new one');
      sessionId = await startNewSession(ctx);
      reply = await agent.query(turn());
    }
    record.agentMs = Date.now() - started;
    log.info({ agentMs: record.agentMs, replyParts: reply.map((part) => (part.kind === 'text' ? 'text' : part.name)) }, 'agent answered');
    return { parts: isFirstContact && settings.welcomeText ? withWelcome(settings.welcomeText, reply) : reply, agentAnswered: true };
  } finally {
    clearInterval(typing);
  }
}

/**
 * Counts the turn against the user's per-minute limit (once, however many messages it answers or
 * how often it is retried). Over the limit: the slow-down text the first time, then '' (nothing
 * sent); within it: undefined. Fixed replies count too, or a flood of stickers would get a reply each.
 */
export async function rateLimited(ctx: TurnContext): Promise<string | undefined> {
  const { settings, rateLimiter } = ctx.deps;
  const hits = await rateLimiter.hit(ctx.message, ctx.turn.id, ctx.now());
  if (hits <= settings.rateLimitPerMinute) return undefined;
  ctx.log.warn({ hits, limit: settings.rateLimitPerMinute }, 'user over the rate limit: no agent call, no fixed reply');
  return hits === settings.rateLimitPerMinute + 1 ? settings.slowDownText : '';
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
