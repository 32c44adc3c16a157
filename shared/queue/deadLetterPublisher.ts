import type { InboundPublisher } from './inboundPublisher.js';
import type { PushDelivery } from './pushEnvelope.js';

/**
 * Moves a message to the dead-letter topic from the worker. Only for subscriptions that do not
 * report `deliveryAttempt` (the emulator, or one without a dead-letter policy): there Pub/Sub
 * cannot be trusted to dead-letter, and the emulator stalls an ordered subscription instead.
 */
export interface DeadLetterPublisher {
  publish(delivery: PushDelivery, reason: string): Promise<void>;
}

/** Publishes through the same REST publisher the webhook uses, onto the dead-letter topic. */
export function createDeadLetterPublisher(topic: InboundPublisher): DeadLetterPublisher {
  return {
    async publish(delivery, reason) {
      await topic.publish(delivery.message, { ...delivery.attributes, deadLetteredBy: 'worker', deadLetterReason: reason });
    },
  };
}
