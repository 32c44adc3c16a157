import * as z from '../zodMini.js';
import { inboundContentSchema } from './inboundMessage.js';

/** The attribute that tells an echo from an inbound message on the inbound topic. */
export const ECHO_KIND = 'echo';

/**
 * A message staff sent to a user from the WhatsApp Business app (coexistence: the webhook field
 * `smb_message_echoes`), as it travels through Pub/Sub. It means a human is talking to that
 * user: the worker pauses the bot for the conversation and keeps the words for the agent.
 * Versioned like the inbound message.
 */
export const messageEchoSchema = z.object({
  v: z.literal(1),
  kind: z.literal(ECHO_KIND),
  wamid: z.string().check(z.minLength(1)),
  /** The business number the staff wrote from. */
  phoneNumberId: z.string().check(z.minLength(1)),
  /** The user's number (`to`), digits only. */
  to: z.string().check(z.minLength(1)),
  /** The user's BSUID when Meta sends one (`to_user_id`). */
  toUserId: z.optional(z.string().check(z.minLength(1))),
  /** Unix seconds, as Meta sent it. */
  timestamp: z.number(),
  content: inboundContentSchema,
});

export type MessageEcho = z.infer<typeof messageEchoSchema>;

/** The conversation's user as the inbound messages name it: the BSUID when known, else the number. */
export function echoUserId(echo: MessageEcho): string {
  return echo.toUserId ?? echo.to;
}

export function echoAttributes(echo: MessageEcho): Record<string, string> {
  return { kind: ECHO_KIND, wamid: echo.wamid, userId: echoUserId(echo), v: String(echo.v) };
}
