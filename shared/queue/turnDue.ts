import * as z from 'zod';
import { conversationId } from '../core/burstTurns.js';
import type { RestTopic } from './restPublisher.js';

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

/** Publishes turn-dues onto a topic (the turns topic, or its dead letters), ordered per conversation. */
export function createTurnDuePublisher(topic: RestTopic): TurnDuePublisher {
  return {
    async publish(due, attributes = {}) {
      await topic.publishOrdered(due, conversationId(due), { ...attributes, kind: TURN_DUE_KIND, wamid: due.wamid, userId: due.userId });
    },
  };
}
