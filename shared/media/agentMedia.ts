import type { MediaType } from '../whatsapp/inboundMessage.js';

/** One media attachment as the agent receives it: a Cloud Storage object Gemini reads, or the bytes inline. */
export type AgentMedia =
  | { kind: 'file'; fileUri: string; mimeType: string }
  | { kind: 'inline'; mimeType: string; data: Buffer };

/**
 * An attachment of a type the model cannot open (a Word file, a spreadsheet, a zip): not passed on
 * and not downloaded; the agent is told what arrived instead, so it can answer the user about it.
 */
export interface UnreadableMedia {
  kind: 'unreadable';
  mimeType: string;
  fileName?: string;
  /** Meta's figure, when it gives one. */
  sizeBytes?: number;
}

export type PreparedMedia = AgentMedia | UnreadableMedia;

/** An inbound message's attachment, before it is fetched from the Graph API. */
export interface MediaRef {
  /** The inbound message it came with: the stored object is named after it (written once per wamid). */
  wamid: string;
  mediaId: string;
  mediaType: MediaType;
  /** What the webhook said (Meta's metadata has the final word). */
  mimeType?: string;
  /** A document's file name, as the user's phone sent it. */
  fileName?: string;
}

/**
 * Turns an inbound attachment into what the agent's input carries, or into a description of it when
 * the model cannot read its type. Fails with PermanentError `media_too_large` when it is over its
 * type's limit; nothing is kept then.
 */
export interface MediaForAgent {
  prepare(ref: MediaRef): Promise<PreparedMedia>;
}

const MIB = 1024 * 1024;

/**
 * Largest attachment passed on, per WhatsApp media type: WhatsApp's own limits (image 5 MB, audio
 * and video 16 MB, sticker 500 KB), except documents, where Gemini's 50 MB per PDF is the tighter one.
 */
export const STORED_MEDIA_LIMITS: Readonly<Record<MediaType, number>> = {
  image: 5 * MIB,
  audio: 16 * MIB,
  video: 16 * MIB,
  document: 50 * MIB,
  sticker: 500 * 1024,
};

/**
 * The MIME type Gemini is told: WhatsApp's type without parameters. A voice note arrives as
 * `audio/ogg; codecs=opus`; Gemini takes `audio/ogg` and would refuse the parameter.
 */
export function agentMimeType(mimeType: string): string {
  const bare = mimeType.split(';')[0]!.trim().toLowerCase() || 'application/octet-stream';
  // WhatsApp's name for AAC audio; Gemini lists the same format as audio/x-aac.
  return bare === 'audio/aac' ? 'audio/x-aac' : bare;
}

/**
 * The types Gemini on Vertex AI reads as `file_data` or `inline_data` (the Gemini model cards'
 * "supported MIME types": images, documents, video, audio). Anything else fails the agent's call
 * (a Word file, a spreadsheet, a zip), so it is described to the agent instead of attached. Only
 * application/pdf and text/plain are listed for documents there; other text types (CSV, HTML,
 * Markdown) are documented only for some Gemini surfaces, so they are described, not risked.
 */
const GEMINI_MIME_TYPES: ReadonlySet<string> = new Set([
  'image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif',
  'application/pdf', 'text/plain',
  'video/x-flv', 'video/quicktime', 'video/mpeg', 'video/mpegs', 'video/mpg', 'video/mp4', 'video/webm', 'video/wmv', 'video/3gpp',
  'audio/x-aac', 'audio/flac', 'audio/mp3', 'audio/m4a', 'audio/mpeg', 'audio/mpga', 'audio/mp4', 'audio/ogg', 'audio/opus', 'audio/pcm', 'audio/wav', 'audio/webm',
]);

/** Whether the agent's model can open an attachment of this type (as `agentMimeType` gives it). */
export function agentCanRead(mimeType: string): boolean {
  return GEMINI_MIME_TYPES.has(agentMimeType(mimeType));
}
