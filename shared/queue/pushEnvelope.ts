import * as z from 'zod';
import { inboundMessageSchema, type InboundMessage } from '../whatsapp/inboundMessage.js';
import { ECHO_KIND, messageEchoSchema, type MessageEcho } from '../whatsapp/messageEcho.js';
import { statusMessageSchema, type StatusMessage } from '../whatsapp/statusMessage.js';
import { TURN_DUE_KIND, turnDueSchema, type TurnDue } from './turnDue.js';

/** The body Pub/Sub push sends (the emulator adds snake_case copies and omits some fields). */
const pushEnvelopeSchema = z.object({
  message: z
    .object({
      data: z.string().min(1),
      attributes: z.record(z.string(), z.string()).optional(),
      messageId: z.string().optional(),
      message_id: z.string().optional(),
      publishTime: z.string().optional(),
      orderingKey: z.string().optional(),
    })
    .loose(),
  subscription: z.string().min(1),
  deliveryAttempt: z.number().int().positive().optional(),
});

export interface PushDelivery {
  message: InboundMessage;
  messageId: string;
  attributes: Record<string, string>;
  publishTime?: string;
  /** Set by Pub/Sub when the subscription has a dead-letter policy (not by the emulator). */
  deliveryAttempt?: number;
}

/** A delivery status of an outbound message (published without an ordering key). */
export interface StatusDelivery {
  status: StatusMessage;
  messageId: string;
}

/** Staff wrote to a user from the WhatsApp Business app (queued in the user's order, like their messages). */
export interface EchoDelivery {
  echo: MessageEcho;
  messageId: string;
  attributes: Record<string, string>;
}

/** Bursts on: a turn of this conversation may be due (from the turns subscription). */
export interface TurnDueDelivery {
  due: TurnDue;
  messageId: string;
  attributes: Record<string, string>;
  deliveryAttempt?: number;
}

/**
 * `envelope`: the request is not a Pub/Sub push at all (answer 400).
 * `payload`: Pub/Sub delivered something that is not an inbound message; no retry can fix it.
 */
export class InvalidPushError extends Error {
  override name = 'InvalidPushError';
  constructor(
    message: string,
    readonly kind: 'envelope' | 'payload',
  ) {
    super(message);
  }
}

/** Decodes and validates a push request body; throws InvalidPushError on anything else. */
export function decodePushEnvelope(body: unknown): PushDelivery | StatusDelivery | TurnDueDelivery | EchoDelivery {
  const envelope = pushEnvelopeSchema.safeParse(body);
  if (!envelope.success) throw new InvalidPushError(`not a Pub/Sub push envelope: ${z.prettifyError(envelope.error)}`, 'envelope');
  const { message, deliveryAttempt } = envelope.data;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'));
  } catch {
    throw new InvalidPushError('message.data is not base64 JSON', 'payload');
  }
  const messageId = message.messageId ?? message.message_id ?? '';
  if (message.attributes?.kind === 'status') {
    const status = statusMessageSchema.safeParse(payload);
    if (!status.success) throw new InvalidPushError(`message.data is not a status: ${z.prettifyError(status.error)}`, 'payload');
    return { status: status.data, messageId };
  }
  if (message.attributes?.kind === ECHO_KIND) {
    const echo = messageEchoSchema.safeParse(payload);
    if (!echo.success) throw new InvalidPushError(`message.data is not a Business app echo: ${z.prettifyError(echo.error)}`, 'payload');
    return { echo: echo.data, messageId, attributes: message.attributes };
  }
  if (message.attributes?.kind === TURN_DUE_KIND) {
    const due = turnDueSchema.safeParse(payload);
    if (!due.success) throw new InvalidPushError(`message.data is not a turn-due message: ${z.prettifyError(due.error)}`, 'payload');
    return { due: due.data, messageId, attributes: message.attributes, deliveryAttempt };
  }
  const inbound = inboundMessageSchema.safeParse(payload);
  if (!inbound.success) throw new InvalidPushError(`message.data is not an inbound message: ${z.prettifyError(inbound.error)}`, 'payload');
  return {
    message: inbound.data,
    messageId,
    attributes: message.attributes ?? {},
    publishTime: message.publishTime,
    deliveryAttempt,
  };
}
