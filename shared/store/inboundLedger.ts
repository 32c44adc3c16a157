import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import type { ReplyChunk } from '../whatsapp/rendering/replyChunk.js';

/**
 * The idempotency record of one inbound message (`inbound_messages/{wamid}`): who owns it now,
 * what the agent answered, which chunks went out. It is what makes at-least-once delivery from
 * Meta and Pub/Sub produce exactly one reply.
 */
export type InboundState =
  /** Waiting in its conversation's burst buffer for its turn (bursts on). */
  | 'buffered'
  /** Answered as part of the turn named by `turnId`, whose record holds the outcome (bursts on). */
  | 'merged'
  | 'processing'
  | 'answered'
  | 'failed';

export interface SentChunk {
  index: number;
  /** The wamid of the sent message; absent for a chunk that is not a message (a hand-off). */
  graphMessageId?: string;
}

export interface InboundRecord {
  wamid: string;
  userId: string;
  state: InboundState;
  /** Deliveries seen, including refused ones, so the count follows Pub/Sub's when it sends none. */
  attempts: number;
  leaseUntil?: Date;
  /** The rendered reply, stored before sending: each chunk is sent once, by its index. */
  replyChunks?: ReplyChunk[];
  /**
   * Set when the stored reply does not match this version's schema (written by another deploy):
   * what did not match. `replyChunks` is then unset; the store keeps the stored reply as it was.
   */
  unreadableReply?: string;
  /** The reply of records written before replies were rendered: plain text, split when sent. */
  replyText?: string;
  /** How long the agent took to produce the reply; unset for a fixed reply. Kept for the reply-latency log line of a later attempt. */
  agentMs?: number;
  sentChunks: SentChunk[];
  apologySent?: boolean;
  failureReason?: string;
  /** The failure happened on the final attempt: the message belongs in the dead-letter topic. */
  exhausted?: boolean;
  /** The dead-letter replay that last reopened this record. */
  replayId?: string;
  /** With bursts on: the turn this message belongs to, named by the turn's first wamid. */
  turnId?: string;
  /** On a turn's record (its first message's): every message of the turn, in order. */
  turnMessages?: InboundMessage[];
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
}

export type ClaimResult =
  /** This delivery owns the message until the lease ends. */
  | { outcome: 'claimed'; record: InboundRecord }
  /** Already answered, or failed for good: acknowledge and do nothing. */
  | { outcome: 'settled'; record: InboundRecord }
  /** Failed on its final attempt: refuse, so Pub/Sub moves it to the dead-letter topic. */
  | { outcome: 'exhausted'; record: InboundRecord }
  /** Another delivery holds a live lease: refuse, so Pub/Sub tries later. */
  | { outcome: 'busy'; record: InboundRecord };

export interface ClaimRequest {
  wamid: string;
  userId: string;
  now: Date;
  leaseMs: number;
  retentionMs: number;
  replayId?: string;
}

export interface InboundLedger {
  claim(request: ClaimRequest): Promise<ClaimResult>;
  saveReply(wamid: string, replyChunks: ReplyChunk[], agentMs?: number): Promise<void>;
  /** Records one sent chunk; with `answered` the record is settled in the same write. */
  recordChunkSent(wamid: string, chunk: SentChunk, answered: boolean): Promise<void>;
  markAnswered(wamid: string): Promise<void>;
  markFailed(wamid: string, reason: string, options: { exhausted: boolean; apologySent?: boolean }): Promise<void>;
  /** Ends this delivery's lease early so the next delivery can take over at once. */
  releaseLease(wamid: string, reason: string): Promise<void>;
  get(wamid: string): Promise<InboundRecord | undefined>;
  /** The record whose reply went out as this Graph message id (to quote it back to the agent). */
  findBySentMessageId(graphMessageId: string): Promise<InboundRecord | undefined>;
}

/** The pure decision at the heart of `claim`, shared by every ledger implementation. */
export function decideClaim(existing: InboundRecord | undefined, request: ClaimRequest): ClaimResult {
  const { now } = request;
  const lease = new Date(now.getTime() + request.leaseMs);
  if (!existing) {
    return {
      outcome: 'claimed',
      record: {
        wamid: request.wamid,
        userId: request.userId,
        state: 'processing',
        attempts: 1,
        leaseUntil: lease,
        sentChunks: [],
        createdAt: now,
        updatedAt: now,
        expiresAt: new Date(now.getTime() + request.retentionMs),
        replayId: request.replayId,
      },
    };
  }
  const seen = { ...existing, attempts: existing.attempts + 1, updatedAt: now };
  // A buffered or merged message is the burst path's to answer, through its turn's record.
  if (existing.state === 'answered' || existing.state === 'buffered' || existing.state === 'merged') {
    return { outcome: 'settled', record: existing };
  }
  if (existing.state === 'failed') {
    const isNewReplay = request.replayId !== undefined && request.replayId !== existing.replayId;
    if (isNewReplay) {
      const { failureReason: _reason, exhausted: _exhausted, ...rest } = existing;
      return {
        outcome: 'claimed',
        record: { ...rest, state: 'processing', attempts: 1, leaseUntil: lease, replayId: request.replayId, updatedAt: now },
      };
    }
    return existing.exhausted ? { outcome: 'exhausted', record: existing } : { outcome: 'settled', record: existing };
  }
  if (existing.leaseUntil && existing.leaseUntil > now) return { outcome: 'busy', record: seen };
  return { outcome: 'claimed', record: { ...seen, leaseUntil: lease } };
}
