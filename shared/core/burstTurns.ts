import type { InboundMessage } from '../whatsapp/inboundMessage.js';

/**
 * How one user's quick messages become agent turns. Pure: the buffer lives in Firestore
 * (shared/store/burstBuffer.ts), and both the inbound step and the turn step run these
 * functions inside their transactions, so every instance decides from the same state.
 */

/** One user's conversation with one business number: the key of every per-user burst state. */
export interface ConversationKey {
  phoneNumberId: string;
  userId: string;
}

/** A stable string form, usable as a document id and as a Pub/Sub ordering key. */
export function conversationId(key: ConversationKey): string {
  return `${encodeURIComponent(key.phoneNumberId)}:${encodeURIComponent(key.userId)}`;
}

export function conversationOf(message: InboundMessage): ConversationKey {
  return { phoneNumberId: message.phoneNumberId, userId: message.userId };
}

/** A message waiting for its turn, with the moment the worker first saw it. */
export interface BufferedMessage {
  message: InboundMessage;
  arrivedAt: Date;
}

export interface BurstSettings {
  /** Quiet time after a burst's latest message before its turn runs. */
  windowMs: number;
  /** Longest wait from a burst's first message. */
  maxWaitMs: number;
}

/** Does this message close the burst before it and get handled alone (a reset command, an opt-out word)? */
export type EndsBurst = (message: InboundMessage) => boolean;

export type BurstStep =
  /** Nothing is waiting. */
  | { kind: 'idle' }
  /** The next turn's window is still open: look again at `until`. */
  | { kind: 'wait'; until: Date }
  /** These messages, in order, are the next turn: it is due now. */
  | { kind: 'take'; messages: BufferedMessage[] };

/**
 * Adds a message to the end of the buffer (its arrival order is the user's order: the inbound
 * subscription delivers one user's messages one at a time). A wamid already there is not added twice.
 */
export function addToBurst(pending: readonly BufferedMessage[], entry: BufferedMessage): BufferedMessage[] | undefined {
  if (pending.some((buffered) => buffered.message.wamid === entry.message.wamid)) return undefined;
  return [...pending, entry];
}

/**
 * The next turn from the front of the buffer. A message that ends bursts is a turn of its own and
 * closes the turn before it at once; otherwise the turn is due when the window after its latest
 * message has passed, or the cap after its first.
 */
export function nextTurn(
  pending: readonly BufferedMessage[],
  now: Date,
  settings: BurstSettings,
  endsBurst: EndsBurst,
): BurstStep {
  const first = pending[0];
  if (!first) return { kind: 'idle' };
  if (endsBurst(first.message)) return { kind: 'take', messages: [first] };
  const boundary = pending.findIndex((buffered) => endsBurst(buffered.message));
  if (boundary >= 0) return { kind: 'take', messages: pending.slice(0, boundary) };
  const last = pending[pending.length - 1]!;
  const dueAt = Math.min(last.arrivedAt.getTime() + settings.windowMs, first.arrivedAt.getTime() + settings.maxWaitMs);
  if (now.getTime() < dueAt) return { kind: 'wait', until: new Date(dueAt) };
  return { kind: 'take', messages: [...pending] };
}

/** The turn's id: its first message's wamid, so retries and every instance name it alike. */
export function turnIdOf(messages: readonly BufferedMessage[]): string {
  const first = messages[0];
  if (!first) throw new Error('a turn has at least one message');
  return first.message.wamid;
}
