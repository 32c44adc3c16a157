import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSandboxChat, type MediaAttachment, type SandboxUser, type SentWebhook } from './sandboxChat.js';
import {
  createGraphApi,
  DEFAULT_TEMPLATES,
  type GraphFault,
  type GraphRequest,
  type ReadCall,
  type SandboxTemplate,
  type SentMessage,
} from './sandboxGraphApi.js';
import { createPageRoutes } from './sandboxPageRoutes.js';
import { DEFAULT_PHONE_NUMBER_ID } from '../webhookBodies.js';
import { createSandboxStatuses } from './sandboxStatuses.js';
import { createTimeline } from './sandboxTimeline.js';

/**
 * The local WhatsApp: a Graph API stand-in the bot talks to (sends, read/typing, media, injected
 * faults) and a chat page at `/` where a person plays the WhatsApp user, each action becoming the
 * signed webhook Meta would POST to `webhookUrl`.
 */

export type { GraphFault, GraphRequest, ReadCall, SandboxTemplate, SentMessage } from './sandboxGraphApi.js';
export type { MediaAttachment, SandboxUser, SentWebhook } from './sandboxChat.js';

export interface WhatsAppSandboxOptions {
  host?: string;
  port?: number;
  accessToken: string;
  /** When set, calls under any other version are refused, catching a misconfigured client. */
  graphApiVersion?: string;
  /** Signs the webhooks the sandbox sends; without it they go unsigned (ALLOW_UNSIGNED_WEBHOOKS). */
  appSecret?: string;
  /** Where the chat page and the helpers deliver webhooks. */
  webhookUrl?: string;
  /** Templates the sandbox accepts (default: DEFAULT_TEMPLATES); any other is refused with 132001, as Meta does. */
  templates?: Record<string, SandboxTemplate>;
  /**
   * POST the status webhooks Meta would send for each accepted message (sent, delivered, read when
   * the chat page shows it; failed with 131047 when the chat's window was closed). Off by default:
   * tests that count webhooks or Pub/Sub messages see only what they send; `npm start` turns it on.
   */
  statusWebhooks?: boolean;
  /** Receives one human-readable line per thing the bot did; silent when omitted. */
  log?: (line: string) => void;
  /** The business numbers (phone_number_id) the chat page lets a user write to; default DEFAULT_PHONE_NUMBER_ID alone. */
  businessNumbers?: readonly string[];
}

export interface WhatsAppSandbox {
  /** Base URL: GRAPH_API_BASE_URL for the bot, and the chat page. */
  url: string;
  /** Every Graph call, answered or refused, in order. */
  readonly requests: readonly GraphRequest[];
  /** The sends Graph accepted, in order. */
  sent(): SentMessage[];
  /** The read (and typing) calls Graph accepted, in order. */
  reads(): ReadCall[];
  /** Registers bytes as uploaded media and returns the media id. */
  addMedia(bytes: Buffer, mimeType: string): string;
  failNext(fault: GraphFault): void;
  clearFaults(): void;
  waitFor<T>(pick: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  /** The user writes `text`; resolves with its wamid once the webhook has answered. */
  sendText(user: SandboxUser, text: string, options?: { replyTo?: string; wamid?: string }): Promise<SentWebhook>;
  /** Staff write to the user from the WhatsApp Business app: a signed `smb_message_echoes` webhook. */
  sendAsStaff(user: SandboxUser, text: string): Promise<SentWebhook>;
  /** The user sends an image or audio (a voice note with `voice: true`), served back through Graph's media routes. */
  sendMedia(user: SandboxUser, media: MediaAttachment, options?: { replyTo?: string }): Promise<SentWebhook & { mediaId: string }>;
  /** The user taps a reply button or picks a list row of the bot's message `messageId`: the signed `interactive` webhook. */
  tapButton(
    user: SandboxUser,
    messageId: string,
    reply: { kind: 'button_reply' | 'list_reply'; id: string; title: string },
  ): Promise<SentWebhook>;
  /** POSTs the last message webhook again, same bytes and signature, as Meta does when unsure it landed. */
  redeliverLast(): Promise<SentWebhook>;
  /** Closes the chat's 24-hour window: free-form sends to it fail with 131047 (in a status webhook) until the user writes. */
  closeWindow(phone: string): void;
  /** The user reads the chat: every message the bot sent there gets its `read` status. */
  readChat(phone: string): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startWhatsAppSandbox(options: WhatsAppSandboxOptions): Promise<WhatsAppSandbox> {
  const log = options.log ?? (() => {});
  const changes = new EventEmitter();
  const timeline = createTimeline();
  const statuses = createSandboxStatuses({
    timeline,
    webhookUrl: options.webhookUrl,
    appSecret: options.appSecret,
    sendWebhooks: options.statusWebhooks ?? false,
    log,
  });
  const chat = createSandboxChat({
    timeline,
    webhookUrl: options.webhookUrl,
    appSecret: options.appSecret,
    addMedia: (bytes, mimeType) => graph.addMedia(bytes, mimeType),
    mediaUrl: (id) => graph.mediaUrl(id),
    botMessages: () => graph.sent.map((message) => ({ id: message.id, phone: chat.phoneFor(message.to) })),
    userWrote: (phone) => statuses.userWrote(phone),
    log,
  });
  const graph = createGraphApi({
    accessToken: options.accessToken,
    graphApiVersion: options.graphApiVersion,
    templates: options.templates ?? DEFAULT_TEMPLATES,
    timeline,
    phoneFor: (address) => chat.phoneFor(address),
    onCall: () => changes.emit('change'),
    onAccepted: (message, phone, phoneNumberId) => statuses.accepted({ id: message.id, phone, type: message.type, phoneNumberId }),
    log,
  });
  const page = createPageRoutes({
    chat,
    timeline,
    webhookUrl: options.webhookUrl,
    signed: Boolean(options.appSecret),
    businessNumbers: options.businessNumbers?.length ? options.businessNumbers : [DEFAULT_PHONE_NUMBER_ID],
    media: (id) => graph.media(id),
    failNext: (fault) => graph.failNext(fault),
    clearFaults: () => graph.clearFaults(),
    statuses,
  });

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    page(req, res, url)
      .then((handled) => (handled ? undefined : graph.handle(req, res, url)))
      .catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(error instanceof Error ? error.message : String(error));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  graph.setBaseUrl(url);

  return {
    url,
    requests: graph.requests,
    sent: () => [...graph.sent],
    reads: () => [...graph.reads],
    addMedia: graph.addMedia,
    failNext: graph.failNext,
    clearFaults: graph.clearFaults,
    waitFor: (pick, timeoutMs = 10_000) => waitFor(changes, graph.requests, pick, timeoutMs),
    sendText: chat.sendText,
    sendAsStaff: chat.sendAsStaff,
    sendMedia: chat.sendMedia,
    tapButton: chat.tapButton,
    redeliverLast: chat.redeliverLast,
    closeWindow: (phone) => statuses.closeWindow(phone),
    readChat: (phone) => statuses.chatRead(phone),
    reset() {
      graph.reset();
      chat.reset();
      statuses.reset();
      timeline.clear();
    },
    close() {
      timeline.close();
      return new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

function waitFor<T>(
  changes: EventEmitter,
  requests: readonly GraphRequest[],
  pick: () => T | undefined | false,
  timeoutMs: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // Polling as well as listening: the condition may depend on state outside the sandbox.
    const poll = setInterval(check, 50);
    const timer = setTimeout(() => {
      stop();
      const recent = requests.slice(-5).map((r) => `${r.method} ${r.path} → ${r.status}`);
      reject(
        new Error(
          `waitFor: condition not met within ${timeoutMs} ms (${requests.length} Graph calls; last: ${recent.join('; ') || 'none'})`,
        ),
      );
    }, timeoutMs);
    function stop(): void {
      clearInterval(poll);
      clearTimeout(timer);
      changes.off('change', check);
    }
    function check(): void {
      try {
        const value = pick();
        if (value === undefined || value === false) return;
        stop();
        resolve(value);
      } catch (error) {
        stop();
        reject(error);
      }
    }
    changes.on('change', check);
    check();
  });
}
