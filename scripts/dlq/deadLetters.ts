import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { conversationId } from '../../shared/core/burstTurns.js';
import { maskUserId } from '../../shared/log/maskUserId.js';
import { decodePushEnvelope, InvalidPushError } from '../../shared/queue/pushEnvelope.js';
import { TURN_DUE_KIND, turnDueSchema } from '../../shared/queue/turnDue.js';
import { createFirestoreInboundLedger } from '../../shared/store/firestoreInboundLedger.js';

export interface DeadLetter {
  messageId: string;
  wamid: string;
  userId: string;
  /** Why the worker gave up, from the message's idempotency record. */
  reason: string;
  state: string;
  publishTime: Date;
  deliveryCount?: string;
  /** A dead turn (bursts on): every message it answers, in order; the reason and state are the turn's. */
  turnWamids?: string[];
  /** The key to re-publish with: the user, or for a turn-due message its conversation. */
  orderingKey: string;
  data: Buffer;
  attributes: Record<string, string>;
}

export interface DeadLetterOptions {
  projectId: string;
  inboundTopic: string;
  deadLetterSubscription: string;
  /** How long to wait for more messages before deciding the subscription is drained. */
  idleMs?: number;
}

/**
 * Reads the dead-letter subscription and hands every message to `decide`: `true` acknowledges it
 * (gone from the dead-letter queue), `false` leaves it there.
 */
async function drain(options: DeadLetterOptions, decide: (letter: DeadLetter) => Promise<boolean>): Promise<DeadLetter[]> {
  const pubsub = new PubSub({ projectId: options.projectId });
  const db = new Firestore({ projectId: options.projectId });
  const ledger = createFirestoreInboundLedger(db);
  const subscription = pubsub.subscription(options.deadLetterSubscription, {
    flowControl: { maxMessages: 1000, allowExcessMessages: false },
  });
  const held = new Map<string, Message>();
  try {
    await new Promise<void>((resolve, reject) => {
      let idle = setTimeout(resolve, options.idleMs ?? 3000);
      subscription.on('error', reject);
      subscription.on('message', (message: Message) => {
        clearTimeout(idle);
        idle = setTimeout(resolve, options.idleMs ?? 1500);
        if (held.has(message.id)) message.nack();
        else held.set(message.id, message);
      });
    });
    const letters: DeadLetter[] = [];
    for (const message of inOriginalOrder([...held.values()])) {
      const wamid = message.attributes.wamid ?? '(unknown)';
      const own = wamid === '(unknown)' ? undefined : await ledger.get(wamid);
      // A message merged into a turn: the turn's record holds the outcome.
      const record = own?.turnId && own.turnId !== wamid ? await ledger.get(own.turnId) : own;
      const userId = message.attributes.userId ?? message.orderingKey ?? '';
      const letter: DeadLetter = {
        messageId: message.id,
        wamid,
        userId,
        orderingKey: orderingKeyOf(message, userId),
        ...(record?.turnMessages ? { turnWamids: record.turnMessages.map((turnMessage) => turnMessage.wamid) } : {}),
        reason: record?.failureReason ?? '(no record)',
        state: record?.state ?? '(no record)',
        publishTime: message.publishTime,
        ...(message.attributes.CloudPubSubDeadLetterSourceDeliveryCount
          ? { deliveryCount: message.attributes.CloudPubSubDeadLetterSourceDeliveryCount }
          : {}),
        data: message.data,
        attributes: message.attributes,
      };
      letters.push(letter);
      if (await decide(letter)) message.ack();
      else message.nack();
    }
    return letters;
  } finally {
    await subscription.close();
    await pubsub.close();
    await db.terminate();
  }
}

/**
 * The dead letters in the order they were first published (a user's messages in their order), not
 * the order the unordered dead-letter subscription happened to deliver them: replay re-publishes
 * them in this order.
 */
export function inOriginalOrder<T extends { attributes: Record<string, string>; publishTime: Date }>(messages: T[]): T[] {
  const firstPublished = (message: T) => Date.parse(message.attributes.CloudPubSubDeadLetterSourceTopicPublishTime ?? '') || message.publishTime.getTime();
  return messages.map((message) => ({ message, at: firstPublished(message) })).sort((a, b) => a.at - b.at).map(({ message }) => message);
}

/** A letter that one of these wamids names: its own, or any message of the turn it carried. */
export function namedBy(letter: Pick<DeadLetter, 'wamid' | 'turnWamids'>, wamids: ReadonlySet<string>): boolean {
  return wamids.has(letter.wamid) || (letter.turnWamids ?? []).some((wamid) => wamids.has(wamid));
}

export function listDeadLetters(options: DeadLetterOptions): Promise<DeadLetter[]> {
  return drain(options, async () => false);
}

/**
 * Re-publishes dead letters to the inbound topic with their ordering key. Each carries a fresh
 * `replayId`, which lets the worker reopen a failed record once; an answered message stays answered.
 */
export async function replayDeadLetters(
  options: DeadLetterOptions,
  select: (letter: DeadLetter) => boolean,
): Promise<DeadLetter[]> {
  const pubsub = new PubSub({ projectId: options.projectId });
  const topic = pubsub.topic(options.inboundTopic, { messageOrdering: true });
  const replayed: DeadLetter[] = [];
  try {
    await drain(options, async (letter) => {
      // What the worker could not decode it would drop on arrival: it stays here, for a person to look at.
      if (!select(letter) || !workerCanRead(letter)) return false;
      const attributes = Object.fromEntries(
        Object.entries(letter.attributes).filter(([key]) => !key.startsWith('CloudPubSubDeadLetter')),
      );
      await topic.publishMessage({
        data: letter.data,
        orderingKey: letter.orderingKey,
        attributes: { ...attributes, replayId: randomUUID() },
      });
      replayed.push(letter);
      return true;
    });
    return replayed;
  } finally {
    await pubsub.close();
  }
}

/** Whether the worker would read the letter as one of its messages, or drop it as undecodable. */
export function workerCanRead(letter: Pick<DeadLetter, 'data' | 'attributes'>): boolean {
  try {
    decodePushEnvelope({ message: { data: letter.data.toString('base64'), attributes: letter.attributes }, subscription: 'dead-letters' });
    return true;
  } catch (error) {
    if (error instanceof InvalidPushError) return false;
    throw error;
  }
}

export function describeDeadLetter(letter: DeadLetter): string {
  return [
    letter.publishTime.toISOString(),
    letter.wamid,
    maskUserId(letter.userId),
    `reason=${letter.reason}`,
    ...(letter.turnWamids && letter.turnWamids.length > 1 ? [`turn=${letter.turnWamids.join(',')}`] : []),
    ...(letter.deliveryCount ? [`deliveries=${letter.deliveryCount}`] : []),
    ...(workerCanRead(letter) ? [] : ['not a message of the bridge: replay leaves it here']),
  ].join('  ');
}

function orderingKeyOf(message: Message, userId: string): string {
  if (message.attributes.kind !== TURN_DUE_KIND) return userId;
  const due = turnDueSchema.safeParse(JSON.parse(message.data.toString('utf8')));
  return due.success ? conversationId(due.data) : (message.orderingKey ?? userId);
}
