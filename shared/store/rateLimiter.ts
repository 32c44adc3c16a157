import type { ConversationKey } from '../core/burstTurns.js';

/** `rate_limits/{phoneNumberId}:{userId}`: the agent turns of one conversation in the current minute. */
export interface RateWindow {
  /** Start of the fixed one-minute window, in ms since the epoch. */
  windowStart: number;
  count: number;
  /** The turns counted in this window, so a retry of one is not counted again. */
  messageIds: string[];
}

/**
 * The per-conversation rate-limit windows, shared by every worker instance. Read with the rest of
 * the conversation at the start of a turn and written with the turn's reply: a conversation's
 * turns run one at a time (ordered delivery), so no transaction is needed; two turns that overlap
 * anyway (a lease ran out) may count one turn short, which a rate limit can afford.
 */
export interface RateLimiter {
  get(conversation: ConversationKey): Promise<RateWindow | undefined>;
  put(conversation: ConversationKey, window: RateWindow): Promise<void>;
}

export const RATE_WINDOW_MS = 60_000;
/** Beyond this many turns in a minute, retries may count twice; the user is far over any sane limit. */
const TRACKED_MESSAGES = 200;

/**
 * Counts this turn once in the conversation's current window: its position in the window, and
 * the window to store (unset when a retry finds the turn already counted).
 */
export function countTurn(window: RateWindow | undefined, messageId: string, now: Date): { hits: number; next?: RateWindow } {
  const windowStart = Math.floor(now.getTime() / RATE_WINDOW_MS) * RATE_WINDOW_MS;
  const current = window?.windowStart === windowStart ? window : { windowStart, count: 0, messageIds: [] };
  const seenAt = current.messageIds.indexOf(messageId);
  if (seenAt >= 0) return { hits: seenAt + 1 };
  const count = current.count + 1;
  const messageIds = current.messageIds.length < TRACKED_MESSAGES ? [...current.messageIds, messageId] : current.messageIds;
  return { hits: count, next: { windowStart, count, messageIds } };
}
