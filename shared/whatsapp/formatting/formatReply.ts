import { markdownToWhatsApp } from './markdownToWhatsApp.js';
import { neutraliseMarkers } from './neutraliseMarkers.js';
import { splitMessage } from './splitMessage.js';

/**
 * Above this size the Markdown parser is skipped: it is quadratic on some input (`*a` repeated:
 * 0.3 s at 6,000 characters, 2.6 s at 20,000, and the worker would block on it at every retry).
 * Up to one WhatsApp message of text it stays near 200 ms at worst; longer answers are rare and
 * are sent as written, with their markers made inert, in time linear in their length.
 */
export const FULL_CONVERSION_MAX_CHARS = 4096;
/** No reply becomes more WhatsApp messages than this; the last one ends in `…` when cut. */
export const MAX_REPLY_CHUNKS = 10;

/** The agent's Markdown reply as the WhatsApp messages to send, in order. */
export function formatReply(markdown: string, chunkChars: number): string[] {
  const text =
    markdown.length <= FULL_CONVERSION_MAX_CHARS ? markdownToWhatsApp(markdown) : neutraliseMarkers(markdown).trim();
  // What lies beyond the last message that can be sent is never split (the split is not linear).
  const sendable = MAX_REPLY_CHUNKS * chunkChars;
  const chunks = splitMessage(text.length > sendable ? text.slice(0, sendable + 1) : text, chunkChars);
  if (chunks.length <= MAX_REPLY_CHUNKS) return chunks;
  const kept = chunks.slice(0, MAX_REPLY_CHUNKS);
  const last = kept[MAX_REPLY_CHUNKS - 1]!;
  kept[MAX_REPLY_CHUNKS - 1] = (last.length < chunkChars ? last : last.slice(0, -1).replace(/[\uD800-\uDBFF]$/, '')) + '…';
  return kept;
}
