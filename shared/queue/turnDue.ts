import { PubSub } from '@google-cloud/pubsub';
import { z } from 'zod';
import { conversationId } from '../core/burstTurns.js';

/**
 * "A turn may be due for this conversation": queued by the worker for every buffered message, on
 * the turns topic, ordered per conversation. Its handler runs every turn up to and including the
 * one that holds `wamid`, so one of these per message is enough and extras cost one read.
 */
export const turnDueSchema = z.object({
  v: z.literal(1),
  kind: z.literal('turn-due'),
  wamid: z.string().min(1),
  userId: z.string().min(1),
  phoneNumberId: z.string().min(1),
});

export type TurnDue = z.infer<typeof turnDueSchema>;

/** The attribute that tells a turn-due push from an inbound message. */
export const TURN_DUE_KIND = 'turn-due';

export interface TurnDuePublisher {
  publish(due: TurnDue, attributes?: Record<string, string>): Promise<void>;
}

/**
 * The worker already loads gRPC (aiplatform), so it publishes with the client library: ordered per
 * conversation, one message per request, and a key that failed is resumed so the next publish goes.
 */
export function createTurnDuePublisher(options: { projectId: string; topic: string }): TurnDuePublisher {
  const topic = new PubSub({ projectId: options.projectId }).topic(options.topic, {
    messageOrdering: true,
    batching: { maxMessages: 1, maxMilliseconds: 0 },
  });
  return {
    async publish(due, attributes = {}) {
      const orderingKey = conversationId(due);
      try {
        await topic.publishMessage({
          data: Buffer.from(JSON.stringify(due)),
          orderingKey,
          attributes: { ...attributes, kind: TURN_DUE_KIND, wamid: due.wamid, userId: due.userId },
        });
      } catch (error) {
        topic.resumePublishing(orderingKey);
        throw error;
      }
    },
  };
}
