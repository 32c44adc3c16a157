import { PubSub } from '@google-cloud/pubsub';
import type { PushDelivery } from './pushEnvelope.js';

/**
 * Moves a message to the dead-letter topic from the worker. Only for subscriptions that do not
 * report `deliveryAttempt` (the emulator, or one without a dead-letter policy): there Pub/Sub
 * cannot be trusted to dead-letter, and the emulator stalls an ordered subscription instead.
 */
export interface DeadLetterPublisher {
  publish(delivery: PushDelivery, reason: string): Promise<void>;
}

export function createDeadLetterPublisher(options: { projectId: string; topic: string }): DeadLetterPublisher {
  const topic = new PubSub({ projectId: options.projectId }).topic(options.topic);
  return {
    async publish(delivery, reason) {
      await topic.publishMessage({
        data: Buffer.from(JSON.stringify(delivery.message)),
        attributes: { ...delivery.attributes, deadLetteredBy: 'worker', deadLetterReason: reason },
      });
    },
  };
}
