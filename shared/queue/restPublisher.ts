import { Pool } from '../http/undiciPool.js';
import { echoAttributes, echoUserId } from '../whatsapp/messageEcho.js';
import type { StatusMessage } from '../whatsapp/statusMessage.js';
import { googleAccessToken } from '../auth/googleAccessToken.js';
import { requestText } from '../http/requestText.js';
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

/** One topic over Pub/Sub's REST API: JSON payloads, ordered per key or unordered in batches. */
export interface RestTopic {
  /** Resolves once Pub/Sub has acknowledged the message; publishes of one key leave in call order. */
  publishOrdered(data: unknown, orderingKey: string, attributes: Record<string, string>): Promise<string>;
  /** As few requests as Pub/Sub allows, no ordering key. */
  publishUnordered(messages: { data: unknown; attributes: Record<string, string> }[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Publishes through Pub/Sub's REST API (`topics.publish`) over a keep-alive pool.
 *
 * Why not @google-cloud/pubsub: the webhook's cold start and CPU per request are part of the
 * product, and that client loads ~440 modules (gax, gRPC, HTTP/2) to send one small message per
 * request; measured in bench/, this publisher halves the webhook's cold start. It keeps what the
 * client's `messageOrdering` gives: one message (so one ordering key) per Publish request, and one
 * key's publishes leave this instance in call order.
 */
export function createRestTopic(options: RestPublisherOptions): RestTopic {
  const origin = options.emulatorHost ? `http://${options.emulatorHost}` : (options.endpoint ?? 'https://pubsub.googleapis.com');
  const pool = new Pool(origin, { connections: 32, keepAliveTimeout: 60_000 });
  const path = `/v1/projects/${encodeURIComponent(options.projectId)}/topics/${encodeURIComponent(options.topic)}:publish`;
  const getAccessToken = options.emulatorHost ? undefined : (options.getAccessToken ?? googleAccessToken());
  const lastPublishOfKey = new Map<string, Promise<string>>();

  interface PubsubMessage {
    data: string;
    orderingKey?: string;
    attributes: Record<string, string>;
  }

  const encode = (data: unknown) => Buffer.from(JSON.stringify(data)).toString('base64');

  async function sendBatch(messages: PubsubMessage[], deadline: number): Promise<string[]> {
    const headers = getAccessToken ? { ...JSON_HEADERS, authorization: `Bearer ${await getAccessToken()}` } : JSON_HEADERS;
    const { statusCode, text } = await requestText(pool, { path, method: 'POST', headers, body: JSON.stringify({ messages }) }, deadline, 'Pub/Sub publish');
    if (statusCode !== 200) {
      throw new Error(`Pub/Sub publish answered ${statusCode}: ${text.slice(0, 300)}`);
    }
    const messageIds = (JSON.parse(text) as { messageIds?: string[] }).messageIds ?? [];
    if (messageIds.length !== messages.length) throw new Error('Pub/Sub publish returned no message id');
    return messageIds;
  }

  return {
    publishOrdered(data, orderingKey, attributes) {
      // The deadline covers the wait behind this key's earlier publishes too.
      const deadline = performance.now() + options.timeoutMs;
      const send = () => sendBatch([{ data: encode(data), orderingKey, attributes }], deadline).then(firstId);
      const previous = lastPublishOfKey.get(orderingKey);
      // What waits behind a failed publish fails too, unsent, as the official client pauses the
      // key: the webhook answers Meta 503 and the whole callback comes again, so a later message
      // of the user never reaches Pub/Sub ahead of an earlier one. Once the queue drains, the key starts afresh.
      const published = previous ? previous.then(send, (error: unknown) => Promise.reject(behindFailedPublish(error))) : send();
      lastPublishOfKey.set(orderingKey, published);
      const forget = () => {
        if (lastPublishOfKey.get(orderingKey) === published) lastPublishOfKey.delete(orderingKey);
      };
      published.then(forget, forget);
      return published;
    },
    async publishUnordered(messages) {
      const deadline = performance.now() + options.timeoutMs;
      const requests: Promise<string[]>[] = [];
      for (let start = 0; start < messages.length; start += MAX_MESSAGES_PER_PUBLISH) {
        const batch = messages.slice(start, start + MAX_MESSAGES_PER_PUBLISH).map((m) => ({ data: encode(m.data), attributes: m.attributes }));
        requests.push(sendBatch(batch, deadline));
      }
      await Promise.all(requests);
    },
    async close() {
      await pool.close();
    },
  };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

const behindFailedPublish = (cause: unknown) =>
  new Error('not published: an earlier publish of the same ordering key failed', { cause });
const firstId = (messageIds: string[]) => messageIds[0]!;

/** The webhook's publisher: inbound messages ordered per user, statuses unordered. */
export function createRestPublisher(options: RestPublisherOptions): InboundPublisher {
  const topic = createRestTopic(options);
  return {
    publish: (message, attributes = {}) =>
      topic.publishOrdered(message, message.userId, { ...messageAttributes(message), ...attributes }),
    // Behind the user's earlier messages, so the pause lands before the next one.
    publishEcho: (echo, attributes = {}) => topic.publishOrdered(echo, echoUserId(echo), { ...attributes, ...echoAttributes(echo) }),
    publishStatuses: (statuses: StatusMessage[]) =>
      topic.publishUnordered(statuses.map((status) => ({ data: status, attributes: statusAttributes(status) }))),
    close: () => topic.close(),
  };
}
