import type { MediaType } from '../whatsapp/inboundMessage.js';

/** One media attachment as the agent receives it: a Cloud Storage object Gemini reads, or the bytes inline. */
export type AgentMedia =
  | { kind: 'file'; fileUri: string; mimeType: string }
  | { kind: 'inline'; mimeType: string; data: Buffer };

/** An inbound message's attachment, before it is fetched from the Graph API. */
export interface MediaRef {
  /** The inbound message it came with: the stored object is named after it (written once per wamid). */
  wamid: string;
  mediaId: string;
  mediaType: MediaType;
  /** What the webhook said (Meta's metadata has the final word). */
  mimeType?: string;
}

/**
 * Turns an inbound attachment into what the agent's input carries. Fails with PermanentError
 * `media_too_large` when it is over its type's limit; nothing is kept then.
 */
export interface MediaForAgent {
  prepare(ref: MediaRef): Promise<AgentMedia>;
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
  return mimeType.split(';')[0]!.trim().toLowerCase() || 'application/octet-stream';
}
