/** WhatsApp's customer-service window: free-form messages only within 24 h of the user's last message. */
export const CUSTOMER_SERVICE_WINDOW_MS = 24 * 3600 * 1000;

/**
 * Whether free text may still go to a user who last wrote at `lastUserMessageAt`. Our clock is a
 * first guess only: Meta's 131047 (synchronous or in a failed status) has the last word.
 */
export function isWindowOpen(lastUserMessageAt: Date | undefined, now: Date): boolean {
  if (!lastUserMessageAt) return false;
  return now.getTime() - lastUserMessageAt.getTime() < CUSTOMER_SERVICE_WINDOW_MS;
}

/** How a message to a user may leave: as free text, only as a template, or not at all (opted out). */
export type SendPermission = 'free-text' | 'template-only' | 'opted-out';

export function sendPermission(user: { optedOut: boolean; lastUserMessageAt?: Date }, now: Date): SendPermission {
  if (user.optedOut) return 'opted-out';
  return isWindowOpen(user.lastUserMessageAt, now) ? 'free-text' : 'template-only';
}
