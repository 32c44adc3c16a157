import type { InboundMessage } from '../whatsapp/inboundMessage.js';

/** The seam the webhook publishes through. */
export interface InboundPublisher {
  /** Resolves once Pub/Sub has acknowledged the message; returns its message id. */
  publish(message: InboundMessage, attributes?: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

/** What every inbound Pub/Sub message carries besides its data, so logs and tools can find it. */
export function messageAttributes(message: InboundMessage): Record<string, string> {
  return { wamid: message.wamid, userId: message.userId, v: String(message.v) };
}
