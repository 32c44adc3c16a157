import * as z from '../zodMini.js';

export const mediaTypes = ['image', 'audio', 'video', 'document', 'sticker'] as const;
export type MediaType = (typeof mediaTypes)[number];

export const inboundContentSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), text: z.string() }),
  z.object({
    kind: z.literal('media'),
    mediaType: z.enum(mediaTypes),
    mediaId: z.string(),
    mimeType: z.optional(z.string()),
    caption: z.optional(z.string()),
    filename: z.optional(z.string()),
    voice: z.optional(z.boolean()),
  }),
  z.object({
    kind: z.literal('location'),
    latitude: z.number(),
    longitude: z.number(),
    name: z.optional(z.string()),
    address: z.optional(z.string()),
  }),
  z.object({
    kind: z.literal('contacts'),
    contacts: z.array(z.object({ name: z.optional(z.string()), phones: z.array(z.string()) })),
  }),
  z.object({
    kind: z.literal('interactive'),
    replyType: z.string(),
    id: z.string(),
    title: z.string(),
    description: z.optional(z.string()),
  }),
  z.object({ kind: z.literal('button'), payload: z.optional(z.string()), text: z.string() }),
  z.object({ kind: z.literal('reaction'), reactedWamid: z.string(), emoji: z.optional(z.string()) }),
  z.object({ kind: z.literal('system'), text: z.optional(z.string()), systemType: z.optional(z.string()) }),
  /** `fromMeta`: Meta delivered it as `unsupported` (edits, polls, pins…); otherwise a type this bridge cannot read. */
  z.object({ kind: z.literal('unsupported'), type: z.string(), fromMeta: z.optional(z.boolean()) }),
]);

/**
 * One inbound WhatsApp message, normalised. This is what travels through Pub/Sub, so its
 * shape is versioned: bump `v` and keep reading the old one when it changes.
 */
export const inboundMessageSchema = z.object({
  v: z.literal(1),
  wamid: z.string().check(z.minLength(1)),
  /** BSUID when Meta sends one, else the wa_id. Keys the session and the ordering key. */
  userId: z.string().check(z.minLength(1)),
  /** wa_id (digits, no `+`) when known; absent for username-only users. */
  phone: z.optional(z.string()),
  profileName: z.optional(z.string()),
  /** The business number that received it; replies go out from it. */
  phoneNumberId: z.string().check(z.minLength(1)),
  /** Unix seconds, as Meta sent it. */
  timestamp: z.number(),
  /** The wamid of the message this one replies to or quotes. */
  contextWamid: z.optional(z.string()),
  forwarded: z.optional(z.boolean()),
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
