import type { SessionRecord } from '../store/sessionStore.js';
import type { TurnContext } from './coreDeps.js';

/** The user's live agent session id, or a new session when there is none or it expired from inactivity. */
export async function sessionIdFor(ctx: TurnContext, existing: SessionRecord | undefined): Promise<string> {
  if (existing && existing.expiresAt > ctx.now()) return existing.agentSessionId;
  if (existing) ctx.log.info('agent session expired: starting a new one');
  return startNewSession(ctx);
}

/** Creates a session on the number's agent and stores it as the conversation's (replacing any previous one). */
export async function startNewSession(ctx: TurnContext): Promise<string> {
  const { message, deps } = ctx;
  const agentSessionId = await ctx.agent.createSession(message.userId);
  const at = ctx.now();
  await deps.sessions.put({
    phoneNumberId: message.phoneNumberId,
    userId: message.userId,
    phone: message.phone,
    profileName: message.profileName,
    agentSessionId,
    createdAt: at,
    lastMessageAt: at,
    expiresAt: sessionExpiry(ctx),
    messageCount: 0,
  });
  return agentSessionId;
}

/** The user asked for a fresh start: a new session now; the old one is deleted on a best-effort basis. */
export async function resetConversation(ctx: TurnContext): Promise<string> {
  const { message, deps, log } = ctx;
  const previous = await deps.sessions.get(message);
  await startNewSession(ctx);
  if (previous) {
    // Best effort: Agent Engine expires sessions on its own anyway.
    ctx.agent.deleteSession(message.userId, previous.agentSessionId).catch((error: unknown) => {
      log.warn({ err: error }, 'old agent session not deleted');
    });
  }
  log.info('conversation reset by the user');
  return deps.settings.resetConfirmText;
}

/** Notes the message on the session (activity, expiry, count). Bookkeeping: it never fails the message. */
export async function recordSessionActivity(ctx: TurnContext): Promise<void> {
  await ctx.deps.sessions.touch(ctx.message, ctx.now(), sessionExpiry(ctx)).catch((error: unknown) => {
    ctx.log.warn({ err: error }, 'session activity not recorded');
  });
}

function sessionExpiry(ctx: TurnContext): Date {
  return new Date(ctx.now().getTime() + ctx.deps.settings.sessionTtlMs);
}
