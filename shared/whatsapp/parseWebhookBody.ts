import * as z from '../zodMini.js';
import { mediaTypes, type InboundContent, type InboundMessage, type MediaType, type StatusUpdate, type WebhookError } from './inboundMessage.js';
import type { MessageEcho } from './messageEcho.js';

/** The body is not a WhatsApp webhook at all (answer 400). */
export class InvalidWebhookError extends Error {
  override name = 'InvalidWebhookError';
}

export interface ParsedWebhook {
  messages: InboundMessage[];
  statuses: StatusUpdate[];
  /** Messages staff sent from the WhatsApp Business app (field `smb_message_echoes`). */
  echoes: MessageEcho[];
  errors: WebhookError[];
  /** Items that were signed by Meta but that the bot cannot act on, with why. */
  ignored: { wamid?: string; reason: string }[];
}

const optionalString = () => z.optional(z.string());
const nonEmptyString = () => z.string().check(z.minLength(1));

const errorSchema = z.object({
  code: z.coerce.number(),
  title: optionalString(),
  message: optionalString(),
  error_data: z.optional(z.looseObject({ details: optionalString() })),
});

const contactSchema = z.looseObject({
  wa_id: optionalString(),
  user_id: optionalString(),
  profile: z.optional(z.looseObject({ name: optionalString() })),
});

const mediaSchema = z.looseObject({
  id: nonEmptyString(),
  mime_type: optionalString(),
  caption: optionalString(),
  filename: optionalString(),
  voice: z.optional(z.boolean()),
});

const messageSchema = z.looseObject({
  id: nonEmptyString(),
  from: optionalString(),
  from_user_id: optionalString(),
  timestamp: z.coerce.number(),
  type: z.string(),
  context: z.optional(
    z.looseObject({ id: optionalString(), forwarded: z.optional(z.boolean()), frequently_forwarded: z.optional(z.boolean()) }),
  ),
});

const valueSchema = z.looseObject({
  metadata: z.optional(z.looseObject({ phone_number_id: nonEmptyString() })),
  contacts: z.optional(z.array(z.unknown())),
  messages: z.optional(z.array(z.unknown())),
  statuses: z.optional(z.array(z.unknown())),
  errors: z.optional(z.array(z.unknown())),
  message_echoes: z.optional(z.array(z.unknown())),
});

const echoSchema = z.looseObject({
  id: nonEmptyString(),
  to: nonEmptyString(),
  to_user_id: z.optional(nonEmptyString()),
  timestamp: z.coerce.number(),
  type: z.string(),
});

const envelopeSchema = z.object({
  object: z.literal('whatsapp_business_account'),
  entry: z.array(z.looseObject({ changes: z.array(z.looseObject({ field: optionalString(), value: z.unknown() })) })),
});

const statusSchema = z.looseObject({
  id: z.string(),
  status: z.string(),
  timestamp: z.coerce.number(),
  recipient_id: optionalString(),
  recipient_user_id: optionalString(),
  errors: z.optional(z.array(z.unknown())),
});

const textSchema = z.looseObject({ body: z.string() });
const locationSchema = z.looseObject({
  latitude: z.coerce.number(),
  longitude: z.coerce.number(),
  name: optionalString(),
  address: optionalString(),
});
const sharedContactsSchema = z.array(
  z.looseObject({
    name: z.optional(z.looseObject({ formatted_name: optionalString() })),
    phones: z.optional(z.array(z.looseObject({ phone: optionalString(), wa_id: optionalString() }))),
  }),
);
const interactiveSchema = z.catchall(z.object({ type: z.string() }), z.unknown());
const interactiveReplySchema = z.looseObject({ id: z.string(), title: z.string(), description: optionalString() });
const buttonSchema = z.looseObject({ payload: optionalString(), text: z.string() });
const reactionSchema = z.looseObject({ message_id: z.string(), emoji: optionalString() });
const systemSchema = z.looseObject({ body: optionalString(), type: optionalString() });
const unsupportedSchema = z.looseObject({ type: optionalString() });

const MEDIA_TYPES: ReadonlySet<string> = new Set(mediaTypes);

/**
 * Turns a webhook body (already JSON-parsed) into normalised messages and statuses.
 * Throws InvalidWebhookError only when the body is not a WhatsApp envelope; an item inside
 * a valid envelope that cannot be read is reported in `ignored`, never thrown.
 */
export function parseWebhookBody(body: unknown): ParsedWebhook {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) {
    throw new InvalidWebhookError(`not a WhatsApp webhook: ${z.prettifyError(envelope.error).slice(0, 300)}`);
  }
  const parsed: ParsedWebhook = { messages: [], statuses: [], echoes: [], errors: [], ignored: [] };

  for (const entry of envelope.data.entry) {
    for (const change of entry.changes) {
      if (change.field !== undefined && change.field !== 'messages' && change.field !== 'smb_message_echoes') {
        parsed.ignored.push({ reason: `field ${change.field} is not handled` });
        continue;
      }
      const value = valueSchema.safeParse(change.value);
      if (!value.success) {
        parsed.ignored.push({ reason: 'change value is not an object' });
        continue;
      }
      if (change.field === 'smb_message_echoes') collectEchoes(value.data, parsed);
      else collectChange(value.data, parsed);
    }
  }
  return parsed;
}

function collectChange(value: z.infer<typeof valueSchema>, parsed: ParsedWebhook): void {
  const contacts = (value.contacts ?? []).flatMap((raw) => {
    const contact = contactSchema.safeParse(raw);
    return contact.success ? [contact.data] : [];
  });

  for (const raw of value.errors ?? []) {
    const error = toWebhookError(raw);
    if (error) parsed.errors.push(error);
  }

  for (const raw of value.statuses ?? []) {
    const status = statusSchema.safeParse(raw);
    if (!status.success) {
      parsed.ignored.push({ reason: 'unreadable status' });
      continue;
    }
    parsed.statuses.push({
      wamid: status.data.id,
      status: status.data.status,
      timestamp: status.data.timestamp,
      ...(value.metadata?.phone_number_id ? { phoneNumberId: value.metadata.phone_number_id } : {}),
      recipientId: status.data.recipient_user_id ?? status.data.recipient_id,
      errors: (status.data.errors ?? []).flatMap((e) => toWebhookError(e) ?? []),
    });
  }

  for (const raw of value.messages ?? []) {
    const message = messageSchema.safeParse(raw);
    if (!message.success) {
      parsed.ignored.push({ reason: 'unreadable message' });
      continue;
    }
    const wamid = message.data.id;
    const phoneNumberId = value.metadata?.phone_number_id;
    if (!phoneNumberId) {
      parsed.ignored.push({ wamid, reason: 'no metadata.phone_number_id to reply from' });
      continue;
    }
    const contact =
      contacts.find(
        (c) =>
          (message.data.from_user_id && c.user_id === message.data.from_user_id) ||
          (message.data.from && c.wa_id === message.data.from),
      ) ?? (contacts.length === 1 ? contacts[0] : undefined);
    const userId = message.data.from_user_id ?? contact?.user_id ?? message.data.from ?? contact?.wa_id;
    if (!userId) {
      parsed.ignored.push({ wamid, reason: 'no sender id' });
      continue;
    }
    const content = readContent(message.data.type, raw as Record<string, unknown>);
    if (!content) {
      parsed.ignored.push({ wamid, reason: `unreadable ${message.data.type} message` });
      continue;
    }
    const phone = message.data.from ?? contact?.wa_id;
    const context = message.data.context;
    parsed.messages.push({
      v: 1,
      wamid,
      userId,
      phone,
      profileName: contact?.profile?.name,
      phoneNumberId,
      timestamp: message.data.timestamp,
      contextWamid: context?.id,
      forwarded: context?.forwarded || context?.frequently_forwarded || undefined,
      content,
    });
  }
}

function collectEchoes(value: z.infer<typeof valueSchema>, parsed: ParsedWebhook): void {
  const phoneNumberId = value.metadata?.phone_number_id;
  for (const raw of value.message_echoes ?? []) {
    const echo = echoSchema.safeParse(raw);
    if (!echo.success) {
      parsed.ignored.push({ reason: 'unreadable message echo' });
      continue;
    }
    if (!phoneNumberId) {
      parsed.ignored.push({ wamid: echo.data.id, reason: 'message echo without metadata.phone_number_id' });
      continue;
    }
    const content = readContent(echo.data.type, raw as Record<string, unknown>);
    if (!content) {
      parsed.ignored.push({ wamid: echo.data.id, reason: `unreadable ${echo.data.type} message echo` });
      continue;
    }
    parsed.echoes.push({
      v: 1,
      kind: 'echo',
      wamid: echo.data.id,
      phoneNumberId,
      to: echo.data.to.replace(/^\+/, ''),
      ...(echo.data.to_user_id ? { toUserId: echo.data.to_user_id } : {}),
      timestamp: echo.data.timestamp,
      content,
    });
  }
}

function readContent(type: string, message: Record<string, unknown>): InboundContent | undefined {
  const body = message[type];
  if (type === 'text') {
    const text = textSchema.safeParse(body);
    return text.success ? { kind: 'text', text: text.data.body } : undefined;
  }
  if (MEDIA_TYPES.has(type)) {
    const media = mediaSchema.safeParse(body);
    if (!media.success) return undefined;
    return {
      kind: 'media',
      mediaType: type as MediaType,
      mediaId: media.data.id,
      mimeType: media.data.mime_type,
      // An empty caption is no caption: the agent then hears what kind of media it is.
      caption: media.data.caption || undefined,
      filename: media.data.filename,
      voice: media.data.voice || undefined,
    };
  }
  switch (type) {
    case 'location': {
      const location = locationSchema.safeParse(body);
      if (!location.success) return undefined;
      const { latitude, longitude, name, address } = location.data;
      return { kind: 'location', latitude, longitude, name, address };
    }
    case 'contacts': {
      const shared = sharedContactsSchema.safeParse(body);
      if (!shared.success) return undefined;
      return {
        kind: 'contacts',
        contacts: shared.data.map((c) => ({
          name: c.name?.formatted_name,
          phones: (c.phones ?? []).flatMap((p) => p.phone ?? p.wa_id ?? []),
        })),
      };
    }
    case 'interactive': {
      const interactive = interactiveSchema.safeParse(body);
      if (!interactive.success) return undefined;
      const reply = interactiveReplySchema.safeParse(interactive.data[interactive.data.type]);
      if (!reply.success) return { kind: 'unsupported', type: `interactive.${interactive.data.type}` };
      return {
        kind: 'interactive',
        replyType: interactive.data.type,
        id: reply.data.id,
        title: reply.data.title,
        description: reply.data.description,
      };
    }
    case 'button': {
      const button = buttonSchema.safeParse(body);
      if (!button.success) return undefined;
      return { kind: 'button', text: button.data.text, payload: button.data.payload };
    }
    case 'reaction': {
      const reaction = reactionSchema.safeParse(body);
      if (!reaction.success) return undefined;
      return {
        kind: 'reaction',
        reactedWamid: reaction.data.message_id,
        emoji: reaction.data.emoji,
      };
    }
    case 'system': {
      const system = systemSchema.safeParse(body);
      return {
        kind: 'system',
        text: system.data?.body,
        systemType: system.data?.type,
      };
    }
    case 'unsupported':
    case 'unknown': {
      const unsupported = unsupportedSchema.safeParse(body);
      return { kind: 'unsupported', type: (unsupported.success && unsupported.data.type) || type, fromMeta: true };
    }
    default:
      return { kind: 'unsupported', type };
  }
}

function toWebhookError(raw: unknown): WebhookError | undefined {
  const error = errorSchema.safeParse(raw);
  if (!error.success) return undefined;
  return {
    code: error.data.code,
    title: error.data.title,
    message: error.data.message,
    details: error.data.error_data?.details,
  };
}
