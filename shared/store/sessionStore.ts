/** `whatsapp_sessions/{userId}`: the Agent Engine session a WhatsApp user is talking in. */
export interface SessionRecord {
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
  get(userId: string): Promise<SessionRecord | undefined>;
  /** For users keyed by a BSUID whose phone number is known. */
  findByPhone(phone: string): Promise<SessionRecord | undefined>;
  /** Creates or replaces the record. */
  put(record: SessionRecord): Promise<void>;
  /** Notes one more message: moves lastMessageAt and expiresAt, counts it. */
  touch(userId: string, at: Date, expiresAt: Date): Promise<void>;
  delete(userId: string): Promise<boolean>;
  /** Newest activity first. Throws InvalidPageTokenError for a token it did not issue. */
  list(options: { limit: number; pageToken?: string }): Promise<SessionPage>;
}

export class InvalidPageTokenError extends Error {
  override name = 'InvalidPageTokenError';
}
