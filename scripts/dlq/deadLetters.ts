import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { maskUserId } from '../../shared/log/maskUserId.js';
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
    for (const message of held.values()) {
      const wamid = message.attributes.wamid ?? '(unknown)';
      const record = wamid === '(unknown)' ? undefined : await ledger.get(wamid);
      const letter: DeadLetter = {
        messageId: message.id,
        wamid,
        userId: message.attributes.userId ?? message.orderingKey ?? '',
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
      if (!select(letter)) return false;
      const attributes = Object.fromEntries(
        Object.entries(letter.attributes).filter(([key]) => !key.startsWith('CloudPubSubDeadLetter')),
      );
      await topic.publishMessage({
        data: letter.data,
        orderingKey: letter.userId,
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

export function describeDeadLetter(letter: DeadLetter): string {
  return [
    letter.publishTime.toISOString(),
    letter.wamid,
    maskUserId(letter.userId),
    `reason=${letter.reason}`,
    ...(letter.deliveryCount ? [`deliveries=${letter.deliveryCount}`] : []),
  ].join('  ');
}
