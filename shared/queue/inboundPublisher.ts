import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import type { MessageEcho } from '../whatsapp/messageEcho.js';
import type { StatusMessage } from '../whatsapp/statusMessage.js';

/** The seam the webhook publishes through. */
export interface InboundPublisher {
  /** Resolves once Pub/Sub has acknowledged the message; returns its message id. */
  publish(message: InboundMessage, attributes?: Record<string, string>): Promise<string>;
  /**
   * Publishes delivery statuses in as few requests as Pub/Sub allows, without an ordering key:
   * their order does not matter (stored statuses only move forward), and they must not queue
   * behind a user's slow agent turn. Resolves once Pub/Sub has acknowledged them all.
   */
  publishStatuses(statuses: StatusMessage[]): Promise<void>;
  /**
   * Publishes a Business app echo with the user's ordering key, behind that user's earlier
   * messages: the pause it causes must be in place before the user's next message is handled.
   */
  publishEcho(echo: MessageEcho, attributes?: Record<string, string>): Promise<string>;
  close(): Promise<void>;
}

/** What every inbound Pub/Sub message carries besides its data, so logs and tools can find it. */
export function messageAttributes(message: InboundMessage): Record<string, string> {
  return { wamid: message.wamid, userId: message.userId, v: String(message.v) };
}

export function statusAttributes(status: StatusMessage): Record<string, string> {
  return { kind: status.kind, wamid: status.wamid, v: String(status.v) };
}
