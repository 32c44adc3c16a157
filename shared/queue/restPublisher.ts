import { Pool } from 'undici';
import { echoAttributes, echoUserId } from '../whatsapp/messageEcho.js';
import type { StatusMessage } from '../whatsapp/statusMessage.js';
import { googleAccessToken } from '../auth/googleAccessToken.js';
import { messageAttributes, statusAttributes, type InboundPublisher } from './inboundPublisher.js';

export interface RestPublisherOptions {
  projectId: string;
  topic: string;
  timeoutMs: number;
  /** `host:port` of the Pub/Sub emulator: plain HTTP, no credentials. */
  emulatorHost?: string;
  /** Defaults to `https://pubsub.googleapis.com`. */
  endpoint?: string;
  getAccessToken?: () => Promise<string>;
}

/** Pub/Sub's limit per Publish request. */
const MAX_MESSAGES_PER_PUBLISH = 1000;

/**
 * Publishes through Pub/Sub's REST API (`topics.publish`) over a keep-alive pool.
 *
 * Why not @google-cloud/pubsub here: the webhook's cold start and CPU per request are part of the
 * product, and that client loads ~440 modules (gax, gRPC, HTTP/2) to send one small message per
 * request; measured in bench/, this publisher halves the webhook's cold start. It keeps what the
 * client's `messageOrdering` gives: one message (so one ordering key) per Publish request, and one
 * user's publishes leave this instance in call order.
 */
export function createRestPublisher(options: RestPublisherOptions): InboundPublisher {
  const origin = options.emulatorHost ? `http://${options.emulatorHost}` : (options.endpoint ?? 'https://pubsub.googleapis.com');
  const pool = new Pool(origin, { connections: 32, keepAliveTimeout: 60_000 });
  const path = `/v1/projects/${encodeURIComponent(options.projectId)}/topics/${encodeURIComponent(options.topic)}:publish`;
  const getAccessToken = options.emulatorHost ? undefined : (options.getAccessToken ?? googleAccessToken());
  const lastPublishOfUser = new Map<string, Promise<unknown>>();

  interface PubsubMessage {
    data: string;
    orderingKey?: string;
    attributes: Record<string, string>;
  }

  async function sendBatch(messages: PubsubMessage[], signal: AbortSignal): Promise<string[]> {
    const authorization = getAccessToken ? { authorization: `Bearer ${await getAccessToken()}` } : {};
    const response = await pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authorization },
      body: JSON.stringify({ messages }),
      signal,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) {
      throw new Error(`Pub/Sub publish answered ${response.statusCode}: ${text.slice(0, 300)}`);
    }
    const messageIds = (JSON.parse(text) as { messageIds?: string[] }).messageIds ?? [];
    if (messageIds.length !== messages.length) throw new Error('Pub/Sub publish returned no message id');
    return messageIds;
  }

  async function send(message: PubsubMessage, signal: AbortSignal): Promise<string> {
    const [messageId] = await sendBatch([message], signal);
    return messageId!;
  }

  /** One user's publishes leave this instance in call order; the deadline covers the wait behind earlier ones. */
  function publishInOrder(payload: object, orderingKey: string, attributes: Record<string, string>): Promise<string> {
    const signal = AbortSignal.timeout(options.timeoutMs);
    const message = { data: Buffer.from(JSON.stringify(payload)).toString('base64'), orderingKey, attributes };
    const previous = lastPublishOfUser.get(orderingKey) ?? Promise.resolve();
    const published = previous.catch(() => undefined).then(() => send(message, signal));
    lastPublishOfUser.set(orderingKey, published);
    void published
      .finally(() => {
        if (lastPublishOfUser.get(orderingKey) === published) lastPublishOfUser.delete(orderingKey);
      })
      .catch(() => undefined);
    return published;
  }

  return {
    publish(message, attributes = {}) {
      return publishInOrder(message, message.userId, { ...messageAttributes(message), ...attributes });
    },
    publishEcho(echo, attributes = {}) {
      return publishInOrder(echo, echoUserId(echo), { ...attributes, ...echoAttributes(echo) });
    },
    async publishStatuses(statuses) {
      const signal = AbortSignal.timeout(options.timeoutMs);
      const requests: Promise<string[]>[] = [];
      for (let start = 0; start < statuses.length; start += MAX_MESSAGES_PER_PUBLISH) {
        const batch = statuses.slice(start, start + MAX_MESSAGES_PER_PUBLISH).map((status: StatusMessage) => ({
          data: Buffer.from(JSON.stringify(status)).toString('base64'),
          attributes: statusAttributes(status),
        }));
        requests.push(sendBatch(batch, signal));
      }
      await Promise.all(requests);
    },
    async close() {
      await pool.close();
    },
  };
}
