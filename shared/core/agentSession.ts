import type { RateWindow } from '../store/rateLimiter.js';
import type { SessionRecord } from '../store/sessionStore.js';
import type { TurnContext } from './coreDeps.js';

/**
 * The conversation's bookkeeping a turn owes, written in the same round trip as its stored reply:
 * the rate-limit window that counts it, and the session (a new one to store, or one more message
 * on the existing one).
 */
export interface ConversationWrites {
  rateWindow?: RateWindow;
  session?: SessionRecord | 'touch';
}

/**
 * The user's live agent session, or a new one (to be stored with the reply) when there is none or
 * it expired from inactivity.
 */
export async function sessionFor(ctx: TurnContext, existing: SessionRecord | undefined): Promise<{ sessionId: string; created?: SessionRecord }> {
  if (existing && existing.expiresAt > ctx.now()) return { sessionId: existing.agentSessionId };
  if (existing) ctx.log.info('agent session expired: starting a new one');
  const created = await startNewSession(ctx);
  return { sessionId: created.agentSessionId, created };
}

/** Creates a session on the number's agent: the conversation's record of it, counting this turn, for the caller to store. */
export async function startNewSession(ctx: TurnContext): Promise<SessionRecord> {
  const { message } = ctx;
  const agentSessionId = await ctx.agent.createSession(message.userId);
  const at = ctx.now();
  return {
    phoneNumberId: message.phoneNumberId,
    userId: message.userId,
    phone: message.phone,
    profileName: message.profileName,
    agentSessionId,
    createdAt: at,
    lastMessageAt: at,
    expiresAt: sessionExpiry(ctx, at),
    messageCount: 1,
  };
}

/** The user asked for a fresh start: a new session (to be stored with the reply); the old one is deleted on a best-effort basis. */
export async function resetConversation(ctx: TurnContext, previous: SessionRecord | undefined): Promise<SessionRecord> {
  const { message, log } = ctx;
  const created = { ...(await startNewSession(ctx)), messageCount: 0 };
  if (previous) {
    // Best effort: Agent Engine expires sessions on its own anyway.
    ctx.agent.deleteSession(message.userId, previous.agentSessionId).catch((error: unknown) => {
      log.warn({ err: error }, 'old agent session not deleted');
    });
  }
  log.info('conversation reset by the user');
  return created;
}

/**
 * Writes the turn's bookkeeping. It never fails the turn: a lost count or activity costs less than
 * asking the agent again; a new session that was not stored is replaced by another next time.
 */
export async function writeConversation(ctx: TurnContext, writes: ConversationWrites): Promise<void> {
  const { deps, message, log } = ctx;
  const { rateWindow, session } = writes;
  const now = ctx.now();
  await Promise.all([
    rateWindow && deps.rateLimiter.put(message, rateWindow).catch((error: unknown) => log.warn({ err: error }, 'rate-limit count not recorded')),
    session === 'touch'
      ? deps.sessions.touch(message, now, sessionExpiry(ctx, now)).catch((error: unknown) => log.warn({ err: error }, 'session activity not recorded'))
      : session && deps.sessions.put(session).catch((error: unknown) => log.warn({ err: error }, 'new agent session not stored')),
  ]);
}

/** Inactivity deadline of a session whose latest message was at `at`. */
function sessionExpiry(ctx: TurnContext, at: Date): Date {
  return new Date(at.getTime() + ctx.deps.settings.sessionTtlMs);
}
