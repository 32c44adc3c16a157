import { decideClaim, type InboundLedger, type InboundRecord } from '../../shared/store/inboundLedger.js';
import type { RateLimiter } from '../../shared/store/rateLimiter.js';
import { InvalidPageTokenError, type SessionRecord, type SessionStore } from '../../shared/store/sessionStore.js';

/** In-memory stores with the Firestore adapters' behaviour, for unit tests of the core. */
export function createMemoryInboundLedger(): InboundLedger & { records: Map<string, InboundRecord> } {
  const records = new Map<string, InboundRecord>();
  const update = (wamid: string, change: (record: InboundRecord) => InboundRecord) => {
    const record = records.get(wamid);
    if (!record) throw new Error(`no record ${wamid}`);
    records.set(wamid, change(structuredClone(record)));
  };
  const withoutLease = ({ leaseUntil: _lease, ...rest }: InboundRecord): InboundRecord => rest;
  return {
    records,
    async claim(request) {
      const result = decideClaim(structuredClone(records.get(request.wamid)), request);
      if (result.outcome === 'claimed' || result.outcome === 'busy') records.set(request.wamid, structuredClone(result.record));
      return result;
    },
    async saveReply(wamid, replyText) {
      update(wamid, (r) => ({ ...r, replyText }));
    },
    async recordChunkSent(wamid, chunk, answered) {
      update(wamid, (r) => {
        const next = { ...r, sentChunks: [...r.sentChunks, chunk] };
        return answered ? { ...withoutLease(next), state: 'answered' } : next;
      });
    },
    async markAnswered(wamid) {
      update(wamid, (r) => ({ ...withoutLease(r), state: 'answered' }));
    },
    async markFailed(wamid, reason, { exhausted, apologySent }) {
      update(wamid, (r) => ({
        ...withoutLease(r),
        state: 'failed',
        failureReason: reason,
        exhausted,
        ...(apologySent ? { apologySent } : {}),
      }));
    },
    async releaseLease(wamid, reason) {
      update(wamid, (r) => ({ ...withoutLease(r), failureReason: reason }));
    },
    async get(wamid) {
      return structuredClone(records.get(wamid));
    },
    async findBySentMessageId(graphMessageId) {
      return [...records.values()].find((r) => r.sentChunks.some((c) => c.graphMessageId === graphMessageId));
    },
  };
}

export function createMemorySessionStore(): SessionStore & { records: Map<string, SessionRecord> } {
  const records = new Map<string, SessionRecord>();
  return {
    records,
    async get(userId) {
      return structuredClone(records.get(userId));
    },
    async findByPhone(phone) {
      return [...records.values()].find((r) => r.phone === phone);
    },
    async put(record) {
      records.set(record.userId, structuredClone(record));
    },
    async touch(userId, at, expiresAt) {
      const record = records.get(userId);
      if (record) records.set(userId, { ...record, lastMessageAt: at, expiresAt, messageCount: record.messageCount + 1 });
    },
    async delete(userId) {
      return records.delete(userId);
    },
    async list({ limit, pageToken }) {
      const sorted = [...records.values()].sort((a, b) => b.lastMessageAt.getTime() - a.lastMessageAt.getTime());
      const start = pageToken === undefined ? 0 : Number(pageToken);
      if (!Number.isInteger(start) || start < 0) throw new InvalidPageTokenError('bad pageToken');
      const page = sorted.slice(start, start + limit);
      return { sessions: page, ...(start + limit < sorted.length ? { nextPageToken: String(start + limit) } : {}) };
    },
  };
}

export function createMemoryRateLimiter(): RateLimiter {
  const windows = new Map<string, string[]>();
  return {
    async hit(userId, messageId, now) {
      const key = `${userId}@${Math.floor(now.getTime() / 60_000)}`;
      const ids = windows.get(key) ?? [];
      if (!ids.includes(messageId)) ids.push(messageId);
      windows.set(key, ids);
      return ids.indexOf(messageId) + 1;
    },
  };
}
