import { SessionNotFoundError, type AgentTurn } from '../agent/agentClient.js';
import { sessionIdFor, startNewSession } from './agentSession.js';
import type { MessageContext } from './coreDeps.js';
import { showTyping } from './sendReply.js';

export interface AgentAnswer {
  text: string;
  /** The agent was called and answered (not held back by the rate limit): the session saw activity. */
  agentAnswered: boolean;
}

/**
 * One agent turn for the message: counted against the user's rate limit, in the user's session
 * (a new one when it is gone), with the typing indicator kept alive while the agent works.
 */
export async function askAgent(
  ctx: MessageContext,
  text: string,
  media?: { mediaId: string; mimeType?: string },
): Promise<AgentAnswer> {
  const { message, deps, log } = ctx;
  const { settings, agent } = deps;
  const [hits, existing] = await Promise.all([
    deps.rateLimiter.hit(message.userId, message.wamid, ctx.now()),
    deps.sessions.get(message.userId),
  ]);
  if (hits > settings.rateLimitPerMinute) {
    log.warn({ hits, limit: settings.rateLimitPerMinute }, 'user over the rate limit: agent not called');
    return { text: hits === settings.rateLimitPerMinute + 1 ? settings.slowDownText : '', agentAnswered: false };
  }
  const inlineData = media ? [await deps.whatsapp.downloadMedia(media.mediaId, settings.maxMediaBytes)] : undefined;
  const typing = setInterval(() => showTyping(ctx), settings.typingRefreshMs);
  try {
    const isFirstContact = existing === undefined;
    let sessionId = await sessionIdFor(ctx, existing);
    const turn = (): AgentTurn => ({ userId: message.userId, sessionId, text, inlineData });
    const started = Date.now();
    let reply: string;
    try {
      reply = await agent.query(turn());
    } catch (error) {
      if (!(error instanceof SessionNotFoundError)) throw error;
      log.info('agent session is gone: starting a new one');
      sessionId = await startNewSession(ctx);
      reply = await agent.query(turn());
    }
    log.info({ agentMs: Date.now() - started, replyChars: reply.length }, 'agent answered');
    return { text: isFirstContact && settings.welcomeText ? `${settings.welcomeText}\n\n${reply}` : reply, agentAnswered: true };
  } finally {
    clearInterval(typing);
  }
}
