/**
 * `conversation_windows/{phoneNumberId}:{userId}`: when a user last wrote to a business number.
 * It opens WhatsApp's 24-hour window for free text, and names the number a proactive message
 * leaves from by default. Expires (TTL) 30 days after the user's last message.
 */
export interface ConversationWindow {
  phoneNumberId: string;
  userId: string;
  phone?: string;
  lastUserMessageAt: Date;
}

export const CONVERSATION_WINDOW_RETENTION_MS = 30 * 24 * 3600 * 1000;

export interface ConversationWindowStore {
  /** One write per inbound message. */
  noteUserMessage(window: ConversationWindow): Promise<void>;
  get(phoneNumberId: string, userId: string): Promise<ConversationWindow | undefined>;
  /** The number the user wrote to most recently, found by BSUID or phone number; of `phoneNumberId`'s windows only, when given. */
  latest(userIdOrPhone: string, phoneNumberId?: string): Promise<ConversationWindow | undefined>;
}
