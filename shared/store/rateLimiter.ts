/** Counts messages sent to the agent per user per minute, shared by every worker instance. */
export interface RateLimiter {
  /**
   * Counts this message once (a retry of the same message is not counted again) and returns its
   * position in the user's current window.
   */
  hit(userId: string, messageId: string, now: Date): Promise<number>;
}
