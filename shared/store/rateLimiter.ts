import type { ConversationKey } from '../core/burstTurns.js';

/** Counts messages sent to the agent per conversation (user and business number) per minute, shared by every worker instance. */
export interface RateLimiter {
  /**
   * Counts this message once (a retry of the same message is not counted again) and returns its
   * position in the conversation's current window.
   */
  hit(conversation: ConversationKey, messageId: string, now: Date): Promise<number>;
}
