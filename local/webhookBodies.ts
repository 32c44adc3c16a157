import { randomUUID } from 'node:crypto';

/** Builds webhook bodies shaped like Meta's (see the reference's E1–E12) for the sandbox, tests and scripts. */

export const DEFAULT_PHONE_NUMBER_ID = '123456789012345';
export const DEFAULT_DISPLAY_NUMBER = '15550001234';

export interface WebhookSender {
  /** wa_id digits, no `+`. */
  phone: string;
  name?: string;
  /** A BSUID such as `AR.1349...`; omitted for pre-BSUID payloads. */
  userId?: string;
}

export function newWamid(): string {
  return `wamid.${Buffer.from(randomUUID()).toString('base64')}`;
}

export interface MessageOptions {
  wamid?: string;
  timestamp?: number;
  phoneNumberId?: string;
  /** The message this one quotes: `from` is whoever wrote it (the business number for a bot message). */
  context?: { from: string; id: string };
}

export interface WebhookMedia {
  id: string;
  mimeType: string;
  /** Base64 SHA-256 of the bytes, as webhooks carry it. */
  sha256: string;
  url?: string;
  caption?: string;
  /** A document's file name, as WhatsApp shows it. */
  filename?: string;
  /** An audio message recorded as a voice note. */
  voice?: boolean;
}

/** One inbound message (any type) wrapped in a full webhook envelope. */
export function messageWebhook(
  sender: WebhookSender,
  message: Record<string, unknown> & { type: string },
  options: MessageOptions = {},
): Record<string, unknown> {
  return envelope(options.phoneNumberId, {
    contacts: [
      {
        profile: { name: sender.name ?? 'Test User' },
        wa_id: sender.phone,
        ...(sender.userId ? { user_id: sender.userId } : {}),
      },
    ],
    messages: [
      {
        ...(options.context ? { context: options.context } : {}),
        from: sender.phone,
        ...(sender.userId ? { from_user_id: sender.userId } : {}),
        id: options.wamid ?? newWamid(),
        timestamp: String(options.timestamp ?? Math.floor(Date.now() / 1000)),
        ...message,
      },
    ],
  });
}

export function textWebhook(sender: WebhookSender, text: string, options: MessageOptions = {}): Record<string, unknown> {
  return messageWebhook(sender, { type: 'text', text: { body: text } }, options);
}

export function mediaWebhook(
  sender: WebhookSender,
  kind: 'image' | 'audio' | 'video' | 'document' | 'sticker',
  media: WebhookMedia,
  options: MessageOptions = {},
): Record<string, unknown> {
  return messageWebhook(
    sender,
    {
      type: kind,
      [kind]: {
        ...(media.caption ? { caption: media.caption } : {}),
        ...(media.filename ? { filename: media.filename } : {}),
        mime_type: media.mimeType,
        sha256: media.sha256,
        id: media.id,
        ...(media.url ? { url: media.url } : {}),
        ...(media.voice ? { voice: true } : {}),
      },
    },
    options,
  );
}

/** A reaction to `messageId`; without `emoji` it is the removal of one, as Meta sends it. */
export function reactionWebhook(
  sender: WebhookSender,
  messageId: string,
  emoji: string | undefined,
  options: MessageOptions = {},
): Record<string, unknown> {
  return messageWebhook(
    sender,
    { type: 'reaction', reaction: { message_id: messageId, ...(emoji ? { emoji } : {}) } },
    options,
  );
}

/** The tap on a reply button or list row of the business message in `options.context`. */
export function interactiveReplyWebhook(
  sender: WebhookSender,
  reply: { kind: 'button_reply' | 'list_reply'; id: string; title: string; description?: string },
  options: MessageOptions & { context: { from: string; id: string } },
): Record<string, unknown> {
  const { kind, ...answer } = reply;
  return messageWebhook(sender, { type: 'interactive', interactive: { type: kind, [kind]: answer } }, options);
}

export function statusWebhook(
  status: { wamid: string; status: string; recipient: string; errorCode?: number },
  phoneNumberId?: string,
): Record<string, unknown> {
  return envelope(phoneNumberId, {
    statuses: [
      {
        id: status.wamid,
        status: status.status,
        timestamp: String(Math.floor(Date.now() / 1000)),
        recipient_id: status.recipient,
        ...(status.errorCode
          ? { errors: [{ code: status.errorCode, title: 'error', message: 'error', error_data: { details: 'test' } }] }
          : {}),
      },
    ],
  });
}

/**
 * A text staff sent to the user from the WhatsApp Business app (coexistence), as Meta reports it
 * under the webhook field `smb_message_echoes` (reference §11).
 */
export function echoWebhook(to: WebhookSender, text: string, options: Omit<MessageOptions, 'context'> = {}): Record<string, unknown> {
  return envelope(
    options.phoneNumberId,
    {
      message_echoes: [
        {
          from: DEFAULT_DISPLAY_NUMBER,
          to: to.phone,
          ...(to.userId ? { to_user_id: to.userId } : {}),
          id: options.wamid ?? newWamid(),
          timestamp: String(options.timestamp ?? Math.floor(Date.now() / 1000)),
          type: 'text',
          text: { body: text },
        },
      ],
    },
    'smb_message_echoes',
  );
}

function envelope(phoneNumberId = DEFAULT_PHONE_NUMBER_ID, value: Record<string, unknown>, field = 'messages'): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '110200300400500',
        changes: [
          {
            field,
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: DEFAULT_DISPLAY_NUMBER, phone_number_id: phoneNumberId },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

/** Serialises like Meta: non-ASCII as lowercase `\uXXXX` and `/` as `\/`, so signatures cover escaped bytes. */
export function toMetaJson(body: unknown): string {
  return JSON.stringify(body)
    .replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/\//g, '\\/');
}
