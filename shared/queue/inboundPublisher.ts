import { PubSub, type Topic } from '@google-cloud/pubsub';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';

/** The seam the webhook publishes through. */
export interface InboundPublisher {
  /** Resolves once Pub/Sub has acknowledged the message; returns its message id. */
  publish(message: InboundMessage, attributes?: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

export function messageAttributes(message: InboundMessage): Record<string, string> {
  return { wamid: message.wamid, userId: message.userId, v: String(message.v) };
}

/**
 * Publishes with `orderingKey = userId` so one user's messages reach the worker in order.
 * Batching is off: a webhook waits for its own publish, so waiting for a batch only adds latency,
 * and a Publish request may carry only one ordering key anyway.
 */
export function createPubSubPublisher(options: { projectId: string; topic: string; timeoutMs: number }): InboundPublisher {
  const pubsub = new PubSub({ projectId: options.projectId });
  const topic: Topic = pubsub.topic(options.topic, {
    messageOrdering: true,
    batching: { maxMessages: 1, maxMilliseconds: 0 },
    gaxOpts: { timeout: options.timeoutMs },
  });

  return {
    async publish(message, attributes) {
      const published = topic.publishMessage({
        data: Buffer.from(JSON.stringify(message)),
        orderingKey: message.userId,
        attributes: { ...messageAttributes(message), ...attributes },
      });
      // After a failed publish the client pauses this ordering key; Meta will retry the webhook,
      // so the key must accept publishes again, even when the failure comes after we gave up.
      published.catch(() => topic.resumePublishing(message.userId));
      // gax sleeps between retries before it checks its deadline, so bound the wait here:
      // answering Meta late is worse than a 503 it will retry.
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`publish not acknowledged within ${options.timeoutMs} ms`)), options.timeoutMs);
      });
      try {
        return await Promise.race([published, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await pubsub.close();
    },
  };
}
