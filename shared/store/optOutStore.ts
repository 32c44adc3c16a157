/**
 * `opt_outs/{phoneNumberId}:{userId}`: a user who asked one business number to stop messaging
 * them. No TTL, and independent of the session: only the user's opt-in word removes it.
 */
export interface OptOutRecord {
  phoneNumberId: string;
  userId: string;
  phone?: string;
  /** The word the user sent. */
  command: string;
  optedOutAt: Date;
}

export interface OptOutStore {
  get(phoneNumberId: string, userId: string): Promise<OptOutRecord | undefined>;
  /** The opt-out of the user with this phone number, whichever id (BSUID or phone) it was recorded under. */
  getByPhone(phoneNumberId: string, phone: string): Promise<OptOutRecord | undefined>;
  /** Every business number this user opted out of (for the admin view). */
  listForUser(userId: string): Promise<OptOutRecord[]>;
  optOut(record: OptOutRecord): Promise<void>;
  optIn(phoneNumberId: string, userId: string): Promise<void>;
}
