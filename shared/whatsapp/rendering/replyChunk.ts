import * as z from 'zod';
import { outboundMessageSchema } from '../outboundMessage.js';

/**
 * One step of sending a rendered reply: a message, or the agent's request to hand the
 * conversation to a person (`handoff_to_human`), which always comes last. The stored reply is
 * a list of these; each is done once and recorded by its index (`sentChunks`).
 */
export const replyChunkSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('message'), message: outboundMessageSchema }),
  z.object({ kind: z.literal('handoff'), reason: z.string().optional() }),
]);

export type ReplyChunk = z.infer<typeof replyChunkSchema>;
