import type { AgentMedia } from '../media/agentMedia.js';

/** A google.genai Part as AdkApp validates it (Python field names). */
export type ContentPart =
  | { text: string }
  | { file_data: { file_uri: string; mime_type: string } }
  | { inline_data: { mime_type: string; data: string } };

/**
 * The `message` of async_stream_query: the plain text, or, when media goes along, a google.genai
 * Content dict (AdkApp runs Content.model_validate on it). Media parts come first and the text
 * (caption or a note naming the attachment) after them, the order Gemini's prompting guide advises.
 */
export function agentMessage(text: string, media: readonly AgentMedia[] = []): string | { role: 'user'; parts: ContentPart[] } {
  if (media.length === 0) return text;
  return {
    role: 'user',
    parts: [
      ...media.map(mediaPart),
      // Gemini rejects an empty text part.
      ...(text ? [{ text }] : []),
    ],
  };
}

function mediaPart(media: AgentMedia): ContentPart {
  return media.kind === 'file'
    ? { file_data: { file_uri: media.fileUri, mime_type: media.mimeType } }
    : { inline_data: { mime_type: media.mimeType, data: media.data.toString('base64') } };
}
