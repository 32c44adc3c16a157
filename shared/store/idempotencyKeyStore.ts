/**
 * `proactive_requests/{sha256 of the Idempotency-Key}`: makes a repeated `POST /whatsapp/messages`
 * with the same key send nothing new. Expires (TTL) 24 hours after the first request.
 */
export type IdempotencyClaim =
  /** First time this key is seen (or its earlier attempt definitely failed): send. */
  | { outcome: 'claimed' }
  /** Already sent: answer the same wamid. */
  | { outcome: 'done'; wamid: string }
  /** Another request with this key is sending right now, or died with its outcome unknown. */
  | { outcome: 'in-progress' }
  /** The key was used for a different request. */
  | { outcome: 'mismatch' };

export const IDEMPOTENCY_KEY_RETENTION_MS = 24 * 3600 * 1000;

export interface IdempotencyKeyStore {
  /** `fingerprint` identifies the request body, so a key reused for another message is refused. */
  claim(key: string, fingerprint: string, now: Date): Promise<IdempotencyClaim>;
  complete(key: string, wamid: string): Promise<void>;
  /** The send definitely did not happen (Meta refused it): the key may be used again. */
  release(key: string): Promise<void>;
}
