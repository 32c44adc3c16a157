import { createHash, randomInt } from 'node:crypto';
import type { Timeline } from './sandboxTimeline.js';
import {
  DEFAULT_DISPLAY_NUMBER,
  DEFAULT_PHONE_NUMBER_ID,
  echoWebhook,
  interactiveReplyWebhook,
  mediaWebhook,
  newWamid,
  reactionWebhook,
  statusWebhook,
  textWebhook,
  type MessageOptions,
  type WebhookSender,
} from '../webhookBodies.js';
import { postWebhook, signWebhook, type DeliveryResult, type SignedWebhook } from '../webhookDelivery.js';

/** The user side of the sandbox: what a WhatsApp user does becomes the signed webhook Meta would POST. */

export interface SandboxUser {
  /** E.164 digits; `+`, spaces and dashes are dropped. */
  phone: string;
  name?: string;
  /** A BSUID to send as `user_id`/`from_user_id`. */
  userId?: string;
  /** The business number written to (`metadata.phone_number_id`); default DEFAULT_PHONE_NUMBER_ID. */
  phoneNumberId?: string;
}

export interface SentWebhook {
  wamid: string;
  /** The webhook's HTTP status; 0 when it could not be reached. */
  status: number;
  error?: string;
}

export interface MediaAttachment {
  bytes: Buffer;
  mimeType: string;
  caption?: string;
  /** A document's file name. */
  filename?: string;
  /** Sent as a voice note (`audio.voice: true`), as WhatsApp does for recorded audio. */
  voice?: boolean;
}

/** Refused input from the page or a script (bad phone number, nothing to re-deliver…). */
export class SandboxInputError extends Error {}

interface ChatDependencies {
  timeline: Timeline;
  webhookUrl?: string;
  appSecret?: string;
  addMedia(bytes: Buffer, mimeType: string): string;
  mediaUrl(id: string): string;
  /** Ids and recipients of what the bot has sent, for quoting and status callbacks. */
  botMessages(): { id: string; phone: string | undefined }[];
  /** The user wrote (which reopens their 24-hour window). */
  userWrote?(phone: string): void;
  log(line: string): void;
}

export interface SandboxChat {
  /** Forgets the users who wrote and the webhook to re-deliver. */
  reset(): void;
  users(): Required<Pick<SandboxUser, 'phone' | 'name'>>[];
  /** The user a Graph send addresses (`to` digits or a known BSUID in `recipient`). */
  phoneFor(address: string): string | undefined;
  sendText(user: SandboxUser, text: string, options?: { replyTo?: string; wamid?: string }): Promise<SentWebhook>;
  sendMedia(user: SandboxUser, media: MediaAttachment, options?: { replyTo?: string }): Promise<SentWebhook & { mediaId: string }>;
  react(user: SandboxUser, messageId: string, emoji: string | undefined): Promise<SentWebhook>;
  tapButton(
    user: SandboxUser,
    messageId: string,
    reply: { kind: 'button_reply' | 'list_reply'; id: string; title: string },
  ): Promise<SentWebhook>;
  /**
   * Staff answer the user from the WhatsApp Business app on the bot's number (coexistence): the
   * signed `smb_message_echoes` webhook Meta sends for it, which makes the bridge pause the bot.
   */
  sendAsStaff(user: SandboxUser, text: string): Promise<SentWebhook>;
  sendBurst(user: SandboxUser, count: number): Promise<SentWebhook[]>;
  sendStatusStorm(user: SandboxUser): Promise<{ callbacks: number; statuses: Record<number, number> }>;
  redeliverLast(): Promise<SentWebhook>;
}

const DEMO_USERS = [
  { phone: '5491155550001', name: 'Ana Pérez' },
  { phone: '447700900123', name: 'Ben Ortiz' },
];
const MAX_BURST = 100;
const STORM_MESSAGES = 10;
const STORM_STATUSES = ['sent', 'delivered', 'read'] as const;

export function createSandboxChat(deps: ChatDependencies): SandboxChat {
  const known = new Map<string, { phone: string; name: string; userId?: string }>();
  let lastMessage: { wamid: string; webhook: SignedWebhook } | undefined;
  const forgetAll = () => {
    known.clear();
    // Most recent last, so the first demo user goes in last and heads the chat list.
    for (const demo of [...DEMO_USERS].reverse()) known.set(demo.phone, demo);
    lastMessage = undefined;
  };

  function sender(user: SandboxUser): WebhookSender & { name: string } {
    const phone = user.phone.replace(/[\s+()-]/g, '');
    if (!/^\d{6,15}$/.test(phone)) throw new SandboxInputError(`"${user.phone}" is not a phone number (6–15 digits).`);
    const previous = known.get(phone);
    const name = user.name?.trim() || previous?.name || 'Sandbox User';
    const userId = user.userId ?? previous?.userId;
    const entry = { phone, name, ...(userId ? { userId } : {}) };
    // Re-inserting keeps the most recent writer first in the page's chat list.
    known.delete(phone);
    known.set(phone, entry);
    return entry;
  }

  /** The business number the user writes to, as webhooks and timeline events carry it. */
  function businessNumber(user: SandboxUser): string {
    const id = user.phoneNumberId ?? DEFAULT_PHONE_NUMBER_ID;
    if (!/^\d{1,32}$/.test(id)) throw new SandboxInputError(`"${id}" is not a phone_number_id (digits only).`);
    return id;
  }

  function requireWebhookUrl(): string {
    if (!deps.webhookUrl) throw new SandboxInputError('The sandbox was started without a webhookUrl, so it has nowhere to deliver.');
    return deps.webhookUrl;
  }

  function quoting(phone: string, messageId: string | undefined): Pick<MessageOptions, 'context'> {
    if (!messageId) return {};
    const fromBot = deps.botMessages().some((message) => message.id === messageId);
    return { context: { from: fromBot ? DEFAULT_DISPLAY_NUMBER : phone, id: messageId } };
  }

  async function post(webhook: SignedWebhook, wamid: string, redelivery: boolean): Promise<SentWebhook> {
    const result: DeliveryResult = await postWebhook(requireWebhookUrl(), webhook);
    deps.timeline.append({ kind: 'delivery', wamid, ...result, ...(redelivery ? { redelivery } : {}) });
    if (result.error) deps.log(`sandbox ✗ webhook for ${wamid}: ${result.error}`);
    return { wamid, ...result };
  }

  function deliver(body: unknown, wamid: string, phone: string): Promise<SentWebhook> {
    deps.userWrote?.(phone);
    const webhook = signWebhook(body, deps.appSecret);
    lastMessage = { wamid, webhook };
    return post(webhook, wamid, false);
  }

  async function sendText(user: SandboxUser, text: string, options: { replyTo?: string; wamid?: string } = {}) {
    requireWebhookUrl();
    if (!text.trim()) throw new SandboxInputError('A WhatsApp message cannot be empty.');
    const from = sender(user);
    const phoneNumberId = businessNumber(user);
    const wamid = options.wamid ?? newWamid();
    deps.timeline.append({
      kind: 'inbound', wamid, phone: from.phone, name: from.name, phoneNumberId, type: 'text', text,
      ...(options.replyTo ? { replyTo: options.replyTo } : {}), time: Date.now(),
    });
    return deliver(textWebhook(from, text, { wamid, phoneNumberId, ...quoting(from.phone, options.replyTo) }), wamid, from.phone);
  }

  forgetAll();
  return {
    reset: forgetAll,
    users: () => [...known.values()].reverse().map(({ phone, name }) => ({ phone, name })),
    phoneFor(address) {
      const digits = address.replace(/[\s+()-]/g, '');
      if (/^\d+$/.test(digits)) return digits;
      return [...known.values()].find((user) => user.userId === address)?.phone;
    },
    sendText,
    async sendMedia(user, media, options = {}) {
      requireWebhookUrl();
      const from = sender(user);
      const phoneNumberId = businessNumber(user);
      const kind = mediaKindOf(media.mimeType);
      if (!kind) throw new SandboxInputError(`The sandbox sends images, audio and PDF or text documents, not ${media.mimeType}.`);
      const wamid = newWamid();
      const mediaId = deps.addMedia(media.bytes, media.mimeType);
      // WhatsApp lets images and documents carry a caption, not audio.
      const caption = kind === 'audio' ? undefined : media.caption?.trim() || undefined;
      const voice = kind === 'audio' && media.voice === true;
      const filename = kind === 'document' ? media.filename?.trim() || 'document' : undefined;
      deps.timeline.append({
        kind: 'inbound', wamid, phone: from.phone, name: from.name, phoneNumberId, type: kind,
        ...(caption ? { text: caption } : {}),
        media: { id: mediaId, mimeType: media.mimeType, ...(voice ? { voice } : {}), ...(filename ? { filename } : {}) },
        ...(options.replyTo ? { replyTo: options.replyTo } : {}),
        time: Date.now(),
      });
      const body = mediaWebhook(
        from,
        kind,
        {
          id: mediaId,
          mimeType: media.mimeType,
          sha256: createHash('sha256').update(media.bytes).digest('base64'),
          url: deps.mediaUrl(mediaId),
          ...(caption ? { caption } : {}),
          ...(filename ? { filename } : {}),
          ...(voice ? { voice } : {}),
        },
        { wamid, phoneNumberId, ...quoting(from.phone, options.replyTo) },
      );
      return { ...(await deliver(body, wamid, from.phone)), mediaId };
    },
    async react(user, messageId, emoji) {
      requireWebhookUrl();
      const from = sender(user);
      const phoneNumberId = businessNumber(user);
      const wamid = newWamid();
      deps.timeline.append({
        kind: 'inbound', wamid, phone: from.phone, name: from.name, phoneNumberId, type: 'reaction',
        reaction: { messageId, ...(emoji ? { emoji } : {}) }, time: Date.now(),
      });
      return deliver(reactionWebhook(from, messageId, emoji, { wamid, phoneNumberId }), wamid, from.phone);
    },
    async tapButton(user, messageId, reply) {
      requireWebhookUrl();
      const from = sender(user);
      const phoneNumberId = businessNumber(user);
      const wamid = newWamid();
      deps.timeline.append({
        kind: 'inbound', wamid, phone: from.phone, name: from.name, phoneNumberId, type: 'interactive', text: reply.title,
        replyTo: messageId, time: Date.now(),
      });
      const context = { from: DEFAULT_DISPLAY_NUMBER, id: messageId };
      return deliver(interactiveReplyWebhook(from, reply, { wamid, phoneNumberId, context }), wamid, from.phone);
    },
    async sendAsStaff(user, text) {
      requireWebhookUrl();
      if (!text.trim()) throw new SandboxInputError('A WhatsApp message cannot be empty.');
      const to = sender(user);
      const phoneNumberId = businessNumber(user);
      const wamid = newWamid();
      deps.timeline.append({ kind: 'staff', wamid, phone: to.phone, phoneNumberId, text, time: Date.now() });
      // Not the user writing: their 24-hour window does not move. Re-delivering it is allowed, as Meta retries echoes too.
      const webhook = signWebhook(echoWebhook(to, text, { wamid, phoneNumberId }), deps.appSecret);
      lastMessage = { wamid, webhook };
      return post(webhook, wamid, false);
    },
    async sendBurst(user, count) {
      if (!Number.isInteger(count) || count < 1 || count > MAX_BURST) {
        throw new SandboxInputError(`A burst is 1–${MAX_BURST} messages.`);
      }
      const results: SentWebhook[] = [];
      for (let i = 1; i <= count; i++) results.push(await sendText(user, `Burst message ${i} of ${count}`));
      return results;
    },
    async sendStatusStorm(user) {
      const url = requireWebhookUrl();
      const { phone } = sender(user);
      const ours = deps.botMessages().filter((message) => message.phone === phone).slice(-STORM_MESSAGES);
      const wamids = ours.length > 0 ? ours.map((message) => message.id) : Array.from({ length: 3 }, newWamid);
      // Meta retries and reorders status callbacks: each one twice, in random order, all at once.
      const callbacks = shuffle(
        wamids.flatMap((wamid) => STORM_STATUSES.flatMap((status) => [status, status].map((s) => ({ wamid, status: s })))),
      );
      const results = await Promise.all(
        callbacks.map((callback) =>
          postWebhook(url, signWebhook(statusWebhook({ ...callback, recipient: phone }), deps.appSecret)),
        ),
      );
      const statuses: Record<number, number> = {};
      for (const { status } of results) statuses[status] = (statuses[status] ?? 0) + 1;
      const summary = Object.entries(statuses).map(([status, n]) => `${n}× HTTP ${status === '0' ? 'unreachable' : status}`);
      deps.timeline.append({
        kind: 'note', phone, time: Date.now(),
        text: `Status storm: ${callbacks.length} callbacks for ${wamids.length} messages → ${summary.join(', ')}`,
      });
      return { callbacks: callbacks.length, statuses };
    },
    async redeliverLast() {
      requireWebhookUrl();
      if (!lastMessage) throw new SandboxInputError('Nothing has been delivered yet, so there is nothing to re-deliver.');
      return post(lastMessage.webhook, lastMessage.wamid, true);
    },
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** The WhatsApp message type a file is sent as; undefined for what the sandbox does not send. */
function mediaKindOf(mimeType: string): 'image' | 'audio' | 'document' | undefined {
  if (mimeType.startsWith('image/')) return 'image';
  if (mimeType.startsWith('audio/')) return 'audio';
  if (/^(application\/pdf|text\/plain)\b/.test(mimeType)) return 'document';
  return undefined;
}
