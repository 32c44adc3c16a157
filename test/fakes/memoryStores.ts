import { advanceStatus } from '../../shared/core/deliveryStatus.js';
import type { ConversationWindow, ConversationWindowStore } from '../../shared/store/conversationWindowStore.js';
import {
  applyPause,
  applyPausedEntries,
  applyResume,
  applyTranscriptDelivered,
  liveRecord,
  type HandoffRecord,
  type HandoffStore,
} from '../../shared/store/handoffStore.js';
import { mergeHold, type HeldReplies, type HeldReplyStore } from '../../shared/store/heldReplyStore.js';
import type { OptOutRecord, OptOutStore } from '../../shared/store/optOutStore.js';
import type { OutboundMessageStore, OutboundRecord } from '../../shared/store/outboundMessageStore.js';
import { conversationId, conversationOf, type BufferedMessage } from '../../shared/core/burstTurns.js';
import { bufferedRecord, startedTurnRecord, type BurstBuffer } from '../../shared/store/burstBuffer.js';
import { IDEMPOTENCY_KEY_RETENTION_MS, type IdempotencyClaim, type IdempotencyKeyStore } from '../../shared/store/idempotencyKeyStore.js';
import { decideClaim, type InboundLedger, type InboundRecord } from '../../shared/store/inboundLedger.js';
import type { RateLimiter, RateWindow } from '../../shared/store/rateLimiter.js';
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
    async saveReply(wamid, replyChunks, agentMs) {
      update(wamid, (r) => ({ ...r, replyChunks, ...(agentMs === undefined ? {} : { agentMs }) }));
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

const userKey = (phoneNumberId: string, userId: string) => `${phoneNumberId}:${userId}`;

export function createMemorySessionStore(): SessionStore & { records: Map<string, SessionRecord> } {
  const records = new Map<string, SessionRecord>();
  const keyOf = (conversation: { phoneNumberId: string; userId: string }) => userKey(conversation.phoneNumberId, conversation.userId);
  const newestFirst = (a: SessionRecord, b: SessionRecord) => b.lastMessageAt.getTime() - a.lastMessageAt.getTime();
  return {
    records,
    async get(conversation) {
      return structuredClone(records.get(keyOf(conversation)));
    },
    async findForUser(userIdOrPhone) {
      return [...records.values()].filter((r) => r.userId === userIdOrPhone || r.phone === userIdOrPhone).sort(newestFirst).map((r) => structuredClone(r));
    },
    async put(record) {
      records.set(keyOf(record), structuredClone(record));
    },
    async touch(conversation, at, expiresAt) {
      const record = records.get(keyOf(conversation));
      if (record) records.set(keyOf(conversation), { ...record, lastMessageAt: at, expiresAt, messageCount: record.messageCount + 1 });
    },
    async delete(conversation) {
      return records.delete(keyOf(conversation));
    },
    async list({ limit, pageToken, phoneNumberId }) {
      const sorted = [...records.values()].filter((r) => phoneNumberId === undefined || r.phoneNumberId === phoneNumberId).sort(newestFirst);
      const start = pageToken === undefined ? 0 : Number(pageToken);
      if (!Number.isInteger(start) || start < 0) throw new InvalidPageTokenError('bad pageToken');
      const page = sorted.slice(start, start + limit);
      return { sessions: page, ...(start + limit < sorted.length ? { nextPageToken: String(start + limit) } : {}) };
    },
  };
}

export function createMemoryRateLimiter(): RateLimiter {
  const windows = new Map<string, RateWindow>();
  return {
    async get(conversation) {
      return windows.get(userKey(conversation.phoneNumberId, conversation.userId));
    },
    async put(conversation, window) {
      windows.set(userKey(conversation.phoneNumberId, conversation.userId), window);
    },
  };
}


export function createMemoryOutboundMessageStore(): OutboundMessageStore & { records: Map<string, OutboundRecord> } {
  const records = new Map<string, OutboundRecord>();
  return {
    records,
    async recordSent(message, now) {
      const existing = records.get(message.wamid);
      records.set(message.wamid, { ...existing, ...message, createdAt: now, updatedAt: now, expiresAt: now });
    },
    async applyStatus({ wamid, phoneNumberId, userId, ...report }, now) {
      const existing = records.get(wamid);
      const next = advanceStatus(existing?.status, report);
      const previous = existing?.status ? { previous: existing.status } : {};
      if (!next) return previous;
      const changed: OutboundRecord = {
        ...(existing ?? { wamid, phoneNumberId, userId: userId ?? '', createdAt: now, expiresAt: now }),
        status: next,
        updatedAt: now,
      };
      records.set(wamid, changed);
      return { changed: structuredClone(changed), ...previous };
    },
    async get(wamid) {
      return structuredClone(records.get(wamid));
    },
  };
}

export function createMemoryOptOutStore(): OptOutStore & { records: Map<string, OptOutRecord> } {
  const records = new Map<string, OptOutRecord>();
  return {
    records,
    async get(phoneNumberId, userId) {
      return structuredClone(records.get(userKey(phoneNumberId, userId)));
    },
    async getByPhone(phoneNumberId, phone) {
      return structuredClone([...records.values()].find((r) => r.phoneNumberId === phoneNumberId && r.phone === phone));
    },
    async listForUser(userId) {
      return [...records.values()].filter((r) => r.userId === userId);
    },
    async optOut(record) {
      records.set(userKey(record.phoneNumberId, record.userId), structuredClone(record));
    },
    async optIn(phoneNumberId, userId) {
      records.delete(userKey(phoneNumberId, userId));
    },
  };
}

export function createMemoryHeldReplyStore(): HeldReplyStore & { records: Map<string, HeldReplies> } {
  const records = new Map<string, HeldReplies>();
  return {
    records,
    async hold(request) {
      const key = userKey(request.phoneNumberId, request.userId);
      const { next, sendTemplate } = mergeHold(records.get(key), request);
      records.set(key, next);
      return { sendTemplate };
    },
    async templateSent(phoneNumberId, userId, templateWamid) {
      const held = records.get(userKey(phoneNumberId, userId));
      if (held) held.templateWamid = templateWamid;
    },
    async releaseTemplateClaim(phoneNumberId, userId) {
      const held = records.get(userKey(phoneNumberId, userId));
      if (held) delete held.templateClaimedAt;
    },
    async get(phoneNumberId, userId, now) {
      const held = records.get(userKey(phoneNumberId, userId));
      return held && held.expiresAt > now && held.replies.length > 0 ? structuredClone(held) : undefined;
    },
    async delivered(phoneNumberId, userId, replyId) {
      const key = userKey(phoneNumberId, userId);
      const held = records.get(key);
      if (!held) return;
      held.replies = held.replies.filter((reply) => reply.id !== replyId);
      if (held.replies.length === 0) records.delete(key);
    },
    async discard(phoneNumberId, userId) {
      records.delete(userKey(phoneNumberId, userId));
    },
  };
}

export function createMemoryConversationWindowStore(): ConversationWindowStore & { records: Map<string, ConversationWindow> } {
  const records = new Map<string, ConversationWindow>();
  return {
    records,
    async noteUserMessage(window) {
      records.set(userKey(window.phoneNumberId, window.userId), structuredClone(window));
    },
    async get(phoneNumberId, userId) {
      return structuredClone(records.get(userKey(phoneNumberId, userId)));
    },
    async latest(userIdOrPhone, phoneNumberId) {
      return [...records.values()]
        .filter((w) => w.userId === userIdOrPhone || w.phone === userIdOrPhone)
        .filter((w) => phoneNumberId === undefined || w.phoneNumberId === phoneNumberId)
        .sort((a, b) => b.lastUserMessageAt.getTime() - a.lastUserMessageAt.getTime())[0];
    },
  };
}

/** The Firestore burst buffer's behaviour over the memory ledger's records (one transaction = one synchronous step). */
export function createMemoryBurstBuffer(records: Map<string, InboundRecord>): BurstBuffer & { buffers: Map<string, BufferedMessage[]> } {
  const buffers = new Map<string, BufferedMessage[]>();
  return {
    buffers,
    async add(message, now, retentionMs) {
      const existing = records.get(message.wamid);
      if (existing) return { added: false, state: existing.state };
      records.set(message.wamid, bufferedRecord(message, now, retentionMs));
      const key = conversationId(conversationOf(message));
      buffers.set(key, [...(buffers.get(key) ?? []), { message: structuredClone(message), arrivedAt: now }]);
      return { added: true, state: 'buffered' };
    },
    async pending(conversation) {
      return structuredClone(buffers.get(conversationId(conversation)) ?? []);
    },
    async takeTurn(conversation, decide, claim) {
      const key = conversationId(conversation);
      const pending = structuredClone(buffers.get(key) ?? []);
      const step = decide(pending);
      if (step.kind !== 'take') return step;
      const record = startedTurnRecord(step.messages, claim);
      const taken = new Set(step.messages.map((buffered) => buffered.message.wamid));
      records.set(record.wamid, structuredClone(record));
      for (const wamid of taken) {
        const merged = records.get(wamid);
        if (wamid !== record.wamid && merged) records.set(wamid, { ...merged, state: 'merged', turnId: record.wamid, updatedAt: claim.now });
      }
      buffers.set(key, pending.filter((buffered) => !taken.has(buffered.message.wamid)));
      return { kind: 'taken', record };
    },
  };
}

/** The Firestore hand-off store's behaviour (one transaction = one synchronous step); pages are offsets. */
export function createMemoryHandoffStore(): HandoffStore & { records: Map<string, HandoffRecord> } {
  const records = new Map<string, HandoffRecord>();
  const keyOf = (key: { phoneNumberId: string; userId: string }) => userKey(key.phoneNumberId, key.userId);
  const store = (key: { phoneNumberId: string; userId: string }, next: HandoffRecord | undefined) => {
    if (next) records.set(keyOf(key), structuredClone(next));
    else records.delete(keyOf(key));
    return structuredClone(next);
  };
  const paused = (now: Date) =>
    [...records.values()].filter((r) => r.until > now && r.expiresAt > now).sort((a, b) => a.until.getTime() - b.until.getTime());
  return {
    records,
    async get(key, now) {
      return structuredClone(liveRecord(records.get(keyOf(key)), now));
    },
    async pause(key, change, now, entry) {
      return store(key, applyPause(records.get(keyOf(key)), key, change, now, entry))!;
    },
    async resume(key, now) {
      const next = applyResume(records.get(keyOf(key)), now);
      return next ? store(key, next) : undefined;
    },
    async recordWhilePaused(key, entries, now) {
      const next = applyPausedEntries(records.get(keyOf(key)), entries, now);
      if (next) store(key, next);
      return next !== undefined;
    },
    async transcriptDelivered(key, entryIds, now) {
      store(key, applyTranscriptDelivered(records.get(keyOf(key)), entryIds, now));
    },
    async listPaused({ now, limit, pageToken }) {
      const start = pageToken === undefined ? 0 : Number(pageToken);
      if (!Number.isInteger(start) || start < 0) throw new InvalidPageTokenError('bad pageToken');
      const all = paused(now);
      return {
        handoffs: structuredClone(all.slice(start, start + limit)),
        ...(start + limit < all.length ? { nextPageToken: String(start + limit) } : {}),
      };
    },
    async listPausedForUsers(userIdsOrPhones, now) {
      const ids = new Set(userIdsOrPhones);
      return structuredClone(paused(now).filter((r) => ids.has(r.userId) || (r.phone !== undefined && ids.has(r.phone))));
    },
  };
}

/** The Firestore idempotency store's logic (one transaction = one synchronous step). */
export function createMemoryIdempotencyKeyStore(): IdempotencyKeyStore {
  const docs = new Map<string, { fingerprint: string; wamid?: string; expiresAt: Date }>();
  return {
    async claim(key, fingerprint, now): Promise<IdempotencyClaim> {
      const doc = docs.get(key);
      if (doc && doc.expiresAt > now) {
        if (doc.fingerprint !== fingerprint) return { outcome: 'mismatch' };
        return doc.wamid ? { outcome: 'done', wamid: doc.wamid } : { outcome: 'in-progress' };
      }
      docs.set(key, { fingerprint, expiresAt: new Date(now.getTime() + IDEMPOTENCY_KEY_RETENTION_MS) });
      return { outcome: 'claimed' };
    },
    async complete(key, wamid) {
      const doc = docs.get(key);
      if (doc) doc.wamid = wamid;
    },
    async release(key) {
      docs.delete(key);
    },
  };
}
