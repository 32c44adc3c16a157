import { z } from 'zod';

export const mediaTypes = ['image', 'audio', 'video', 'document', 'sticker'] as const;
export type MediaType = (typeof mediaTypes)[number];

export const inboundContentSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string() }),
  z.object({
    kind: z.literal('media'),
    mediaType: z.enum(mediaTypes),
    mediaId: z.string(),
    mimeType: z.string().optional(),
    caption: z.string().optional(),
    filename: z.string().optional(),
    voice: z.boolean().optional(),
  }),
  z.object({
    kind: z.literal('location'),
    latitude: z.number(),
    longitude: z.number(),
    name: z.string().optional(),
    address: z.string().optional(),
  }),
  z.object({
    kind: z.literal('contacts'),
    contacts: z.array(z.object({ name: z.string().optional(), phones: z.array(z.string()) })),
  }),
  z.object({
    kind: z.literal('interactive'),
    replyType: z.string(),
    id: z.string(),
    title: z.string(),
    description: z.string().optional(),
  }),
  z.object({ kind: z.literal('button'), payload: z.string().optional(), text: z.string() }),
  z.object({ kind: z.literal('reaction'), reactedWamid: z.string(), emoji: z.string().optional() }),
  z.object({ kind: z.literal('system'), text: z.string().optional(), systemType: z.string().optional() }),
  /** `fromMeta`: Meta delivered it as `unsupported` (edits, polls, pins…); otherwise a type this bridge cannot read. */
  z.object({ kind: z.literal('unsupported'), type: z.string(), fromMeta: z.boolean().optional() }),
]);

/**
 * One inbound WhatsApp message, normalised. This is what travels through Pub/Sub, so its
 * shape is versioned: bump `v` and keep reading the old one when it changes.
 */
export const inboundMessageSchema = z.object({
  v: z.literal(1),
  wamid: z.string().min(1),
  /** BSUID when Meta sends one, else the wa_id. Keys the session and the ordering key. */
  userId: z.string().min(1),
  /** wa_id (digits, no `+`) when known; absent for username-only users. */
  phone: z.string().optional(),
  profileName: z.string().optional(),
  /** The business number that received it; replies go out from it. */
  phoneNumberId: z.string().min(1),
  /** Unix seconds, as Meta sent it. */
  timestamp: z.number(),
  /** The wamid of the message this one replies to or quotes. */
  contextWamid: z.string().optional(),
  forwarded: z.boolean().optional(),
  content: inboundContentSchema,
});

export type InboundContent = z.infer<typeof inboundContentSchema>;
export type InboundMessage = z.infer<typeof inboundMessageSchema>;

/** A delivery status of a message the bot sent. */
export interface StatusUpdate {
  wamid: string;
  status: string;
  timestamp: number;
  /** The business number the message left from. */
  phoneNumberId?: string;
  /** `recipient_user_id` (BSUID) when present, else `recipient_id`. */
  recipientId?: string;
  errors: WebhookError[];
}

export interface WebhookError {
  code: number;
  title?: string;
  message?: string;
  details?: string;
}
