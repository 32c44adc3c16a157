/**
 * A human takes over one conversation (a user with one business number): while the hand-off is
 * active the bot stays silent for that user. Pure: the record lives in Firestore
 * (shared/store/handoffStore.ts) and every change below runs inside its transaction.
 */

/** Who paused the bot: the agent's `handoff_to_human` tool, an operator (admin API), or staff writing from the Business app. */
export type HandoffBy = 'agent' | 'admin' | 'business_app';

export interface Handoff {
  since: Date;
  /** The pause ends by itself at this moment (or ended here when an operator resumed it). */
  until: Date;
  by: HandoffBy;
  reason?: string;
  /**
   * The operator gave `minutes`: `until` is their word and staff activity does not move it.
   * Otherwise the pause lasts the timeout after the latest staff activity.
   */
  fixedUntil?: boolean;
  /** Set when an operator ended the pause before it ran out. */
  endedAt?: Date;
}

export interface HandoffSettings {
  /** HANDOFF_TIMEOUT_MINUTES in milliseconds: how long a pause lasts without staff activity. */
  timeoutMs: number;
}

export interface PauseRequest {
  by: HandoffBy;
  reason?: string;
  /** The operator's own duration; replaces the timeout for this pause. */
  minutes?: number;
}

/** The operator may pause for at most a week: a longer silence is a forgotten pause, not a plan. */
export const MAX_HANDOFF_MINUTES = 7 * 24 * 60;

const MINUTE_MS = 60_000;

export function isPaused(handoff: Handoff | undefined, now: Date): handoff is Handoff {
  return handoff !== undefined && handoff.until.getTime() > now.getTime();
}

/**
 * Starts a pause, or renews the active one. A renewal keeps who started it and since when (the
 * team sees how long the user has been waiting); a new reason replaces the old one; `minutes`
 * sets a fixed end, otherwise the end moves to the timeout from now (never earlier).
 */
export function pause(current: Handoff | undefined, request: PauseRequest, now: Date, settings: HandoffSettings): Handoff {
  const active = isPaused(current, now) ? current : undefined;
  const reason = request.reason ?? active?.reason;
  const fixedUntil = request.minutes !== undefined || active?.fixedUntil === true;
  const until =
    request.minutes !== undefined
      ? new Date(now.getTime() + request.minutes * MINUTE_MS)
      : active?.fixedUntil
        ? active.until
        : afterTimeout(active, now, settings);
  return {
    since: active?.since ?? now,
    by: active?.by ?? request.by,
    until,
    ...(fixedUntil ? { fixedUntil } : {}),
    ...(reason ? { reason } : {}),
  };
}

/**
 * Staff wrote to the user (from the Business app or through the admin API). An active pause
 * lasts the timeout from now (a fixed one keeps its end); with none active, staff writing is
 * itself a take-over: the bot pauses, attributed to `via`.
 */
export function noteStaffActivity(
  current: Handoff | undefined,
  via: Exclude<HandoffBy, 'agent'>,
  now: Date,
  settings: HandoffSettings,
): Handoff {
  if (!isPaused(current, now)) return pause(undefined, { by: via }, now, settings);
  if (current.fixedUntil) return current;
  return { ...current, until: afterTimeout(current, now, settings) };
}

/** The operator ends the pause now. Ending one that is not active changes nothing. */
export function resume(current: Handoff | undefined, now: Date): Handoff | undefined {
  if (!isPaused(current, now)) return current;
  const { fixedUntil: _fixed, ...rest } = current;
  return { ...rest, until: now, endedAt: now };
}

/**
 * What an inbound message meets: `paused` (record it, say nothing, call nobody), `resumed` (the
 * first message after a pause: its turn carries what was said meanwhile), or `bot` (no hand-off).
 * The message's content plays no part: a reset command or any other word from the user does not
 * end a pause, only staff, an operator or the clock do.
 */
export function inboundDuringHandoff(handoff: Handoff | undefined, now: Date): 'paused' | 'resumed' | 'bot' {
  if (isPaused(handoff, now)) return 'paused';
  return handoff ? 'resumed' : 'bot';
}

/** The timeout from now, never earlier than the active pause's end. */
function afterTimeout(active: Handoff | undefined, now: Date, settings: HandoffSettings): Date {
  return new Date(Math.max(now.getTime() + settings.timeoutMs, active?.until.getTime() ?? 0));
}
