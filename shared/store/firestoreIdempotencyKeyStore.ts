import { createHash } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { IDEMPOTENCY_KEY_RETENTION_MS, type IdempotencyKeyStore } from './idempotencyKeyStore.js';

export const PROACTIVE_REQUESTS_COLLECTION = 'proactive_requests';

export function createFirestoreIdempotencyKeyStore(db: Firestore): IdempotencyKeyStore {
  const collection = db.collection(PROACTIVE_REQUESTS_COLLECTION);
  // Hashed: a caller's key can be any length and hold any characters.
  const doc = (key: string) => collection.doc(createHash('sha256').update(key).digest('hex'));
  return {
    async claim(key, fingerprint, now) {
      const ref = doc(key);
      return db.runTransaction(async (tx) => {
        const snapshot = await tx.get(ref);
        const expiresAt = snapshot.get('expiresAt')?.toDate?.() as Date | undefined;
        if (snapshot.exists && expiresAt && expiresAt > now) {
          if (snapshot.get('fingerprint') !== fingerprint) return { outcome: 'mismatch' as const };
          const wamid = snapshot.get('wamid') as string | undefined;
          return wamid ? { outcome: 'done' as const, wamid } : { outcome: 'in-progress' as const };
        }
        tx.set(ref, { fingerprint, createdAt: now, expiresAt: new Date(now.getTime() + IDEMPOTENCY_KEY_RETENTION_MS) });
        return { outcome: 'claimed' as const };
      });
    },
    async complete(key, wamid) {
      await doc(key).update({ wamid });
    },
    async release(key) {
      await doc(key).delete();
    },
  };
}
