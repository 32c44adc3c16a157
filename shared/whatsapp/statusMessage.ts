import * as z from '../zodMini.js';
import { toDeliveryStatus } from '../core/deliveryStatus.js';
import type { StatusUpdate } from './inboundMessage.js';

/**
 * One delivery status of a message the bridge sent, as it travels through Pub/Sub. Kept small on
 * purpose: statuses can be three times the inbound traffic. Versioned like the inbound message.
 */
export const statusMessageSchema = z.object({
  v: z.literal(1),
  kind: z.literal('status'),
  wamid: z.string().check(z.minLength(1)),
  status: z.enum(['sent', 'delivered', 'read', 'failed']),
  /** Meta's timestamp, Unix seconds. */
  timestamp: z.number(),
  phoneNumberId: z.string().check(z.minLength(1)),
  /** BSUID when Meta sends one, else the wa_id. */
  recipient: z.optional(z.string()),
  error: z.optional(z.object({ code: z.number(), details: z.optional(z.string()) })),
});

export type StatusMessage = z.infer<typeof statusMessageSchema>;

/** The status as it is queued, or why it is not worth queueing. */
export function toStatusMessage(update: StatusUpdate): StatusMessage | { ignored: string } {
  const status = toDeliveryStatus(update.status);
  if (!status) return { ignored: `status ${update.status} is not tracked` };
  if (!update.phoneNumberId) return { ignored: 'status without metadata.phone_number_id' };
  const [error] = update.errors;
  return {
    v: 1,
    kind: 'status',
    wamid: update.wamid,
    status,
    timestamp: update.timestamp,
    phoneNumberId: update.phoneNumberId,
    ...(update.recipientId ? { recipient: update.recipientId } : {}),
    ...(error ? { error: { code: error.code, ...(error.details ?? error.title ? { details: error.details ?? error.title } : {}) } } : {}),
  };
}
