import type { ConversationKey } from '../core/burstTurns.js';

/**
 * `whatsapp_sessions/{phoneNumberId}:{userId}`: the Agent Engine session of one conversation, a
 * WhatsApp user with one business number (a user of two numbers has two, on each number's agent).
 */
export interface SessionRecord {
  /** The business number (`metadata.phone_number_id`) the conversation is with. */
  phoneNumberId: string;
  userId: string;
  phone?: string;
  profileName?: string;
  agentSessionId: string;
  createdAt: Date;
  lastMessageAt: Date;
  /** Inactivity deadline; also the Firestore TTL field. */
  expiresAt: Date;
  messageCount: number;
}

export interface SessionPage {
  sessions: SessionRecord[];
  nextPageToken?: string;
}

export interface SessionStore {
  get(conversation: ConversationKey): Promise<SessionRecord | undefined>;
  /** A user's sessions on every business number, by user id (BSUID or wa_id) or by phone number. */
  findForUser(userIdOrPhone: string): Promise<SessionRecord[]>;
  /** Creates or replaces the record. */
  put(record: SessionRecord): Promise<void>;
  /** Notes one more message: moves lastMessageAt and expiresAt, counts it. */
  touch(conversation: ConversationKey, at: Date, expiresAt: Date): Promise<void>;
  delete(conversation: ConversationKey): Promise<boolean>;
  /** Newest activity first, optionally one business number's. Throws InvalidPageTokenError for a token it did not issue. */
  list(options: { limit: number; pageToken?: string | undefined; phoneNumberId?: string | undefined }): Promise<SessionPage>;
}

export class InvalidPageTokenError extends Error {
  override name = 'InvalidPageTokenError';
}
