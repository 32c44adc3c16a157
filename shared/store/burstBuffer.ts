import type { BufferedMessage, BurstStep, ConversationKey } from '../core/burstTurns.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import type { InboundRecord, InboundState } from './inboundLedger.js';

/**
 * `burst_buffers/{phoneNumberId}:{userId}`: one conversation's messages waiting for their turn
 * (bursts on). Each message also has its idempotency record in `inbound_messages`, written in
 * the same transaction, so a duplicate delivery finds it however far the message has got.
 */
export interface BurstBuffer {
  /**
   * Records the message as `buffered` and appends it to its conversation's buffer, atomically.
   * A wamid seen before changes nothing: `added` is false and `state` is where its record stands.
   */
  add(message: InboundMessage, now: Date, retentionMs: number): Promise<{ added: boolean; state: InboundState }>;
  /** The conversation's waiting messages, oldest first. */
  pending(conversation: ConversationKey): Promise<BufferedMessage[]>;
  /**
   * Decides on fresh data inside a transaction; when a turn is due, takes its messages out of
   * the buffer, points their records at the turn and claims the turn's record for the caller.
   */
  takeTurn(conversation: ConversationKey, decide: (pending: BufferedMessage[]) => BurstStep, claim: TurnClaim): Promise<TakeResult>;
}

export interface TurnClaim {
  now: Date;
  leaseMs: number;
  retentionMs: number;
}

export type TakeResult = Exclude<BurstStep, { kind: 'take' }> | { kind: 'taken'; record: InboundRecord };

/** The idempotency record of a message that has just joined a buffer. */
export function bufferedRecord(message: InboundMessage, now: Date, retentionMs: number): InboundRecord {
  return {
    wamid: message.wamid,
    userId: message.userId,
    state: 'buffered',
    attempts: 0,
    sentChunks: [],
    createdAt: now,
    updatedAt: now,
    expiresAt: new Date(now.getTime() + retentionMs),
  };
}

/**
 * A turn's record, claimed by the delivery that took it: it lives at its first message's wamid
 * and carries every message of the turn, so a retry can resume it without the buffer.
 */
export function startedTurnRecord(messages: readonly BufferedMessage[], claim: TurnClaim): InboundRecord {
  const first = messages[0];
  if (!first) throw new Error('a turn has at least one message');
  const turnId = first.message.wamid;
  return {
    wamid: turnId,
    userId: first.message.userId,
    state: 'processing',
    attempts: 1,
    leaseUntil: new Date(claim.now.getTime() + claim.leaseMs),
    sentChunks: [],
    turnId,
    turnMessages: messages.map((buffered) => buffered.message),
    createdAt: first.arrivedAt,
    updatedAt: claim.now,
    expiresAt: new Date(claim.now.getTime() + claim.retentionMs),
  };
}
