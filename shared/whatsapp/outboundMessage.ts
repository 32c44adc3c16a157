import * as z from 'zod';

/**
 * One message the bridge sends, in the Graph API's own shape (the body of
 * `POST /{phone-number-id}/messages` without `messaging_product`, `to` and `context`).
 * Rendered replies are stored in this shape before sending, so a retry re-sends exactly
 * what was rendered; the schema reads them back from the ledger.
 */
const replyButtonSchema = z.object({ type: z.literal('reply'), reply: z.object({ id: z.string(), title: z.string() }) });
const listRowSchema = z.object({ id: z.string(), title: z.string(), description: z.string().optional() });
const textObjectSchema = z.object({ text: z.string() });

export const interactiveSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('button'),
    header: z.object({ type: z.literal('text'), text: z.string() }).optional(),
    body: textObjectSchema,
    footer: textObjectSchema.optional(),
    action: z.object({ buttons: z.array(replyButtonSchema) }),
  }),
  z.object({
    type: z.literal('list'),
    header: z.object({ type: z.literal('text'), text: z.string() }).optional(),
    body: textObjectSchema,
    footer: textObjectSchema.optional(),
    action: z.object({
      button: z.string(),
      sections: z.array(z.object({ title: z.string().optional(), rows: z.array(listRowSchema) })),
    }),
  }),
  z.object({
    type: z.literal('cta_url'),
    body: textObjectSchema,
    action: z.object({
      name: z.literal('cta_url'),
      parameters: z.object({ display_text: z.string(), url: z.string() }),
    }),
  }),
]);

const mediaLinkSchema = z.object({ link: z.string(), caption: z.string().optional(), filename: z.string().optional() });

export const outboundMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.object({ body: z.string(), preview_url: z.boolean() }) }),
  z.object({ type: z.literal('interactive'), interactive: interactiveSchema }),
  z.object({ type: z.literal('image'), image: mediaLinkSchema }),
  z.object({ type: z.literal('document'), document: mediaLinkSchema }),
  z.object({ type: z.literal('audio'), audio: mediaLinkSchema }),
  z.object({ type: z.literal('video'), video: mediaLinkSchema }),
  z.object({ type: z.literal('sticker'), sticker: mediaLinkSchema }),
  z.object({
    type: z.literal('location'),
    location: z.object({
      latitude: z.number(),
      longitude: z.number(),
      name: z.string().optional(),
      address: z.string().optional(),
    }),
  }),
]);

export type Interactive = z.infer<typeof interactiveSchema>;
export type OutboundMessage = z.infer<typeof outboundMessageSchema>;

/** A text message; the link preview is asked for when the text holds a link. */
export function textMessage(body: string): OutboundMessage {
  return { type: 'text', text: { body, preview_url: /https?:\/\//.test(body) } };
}

/** The words a user reads in the message: its text, body, caption or place. */
export function readableText(message: OutboundMessage): string | undefined {
  switch (message.type) {
    case 'text':
      return message.text.body;
    case 'interactive':
      return message.interactive.body.text;
    case 'location':
      return [message.location.name, message.location.address].filter(Boolean).join(', ') || undefined;
    case 'image':
      return message.image.caption;
    case 'video':
      return message.video.caption;
    case 'document':
      return message.document.caption ?? message.document.filename;
    default:
      return undefined;
  }
}
