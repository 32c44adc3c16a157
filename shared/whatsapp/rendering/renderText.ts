import { formatReply } from '../formatting/formatReply.js';
import { textMessage, type OutboundMessage } from '../outboundMessage.js';

/** The agent's Markdown as WhatsApp text messages of at most `maxChars` each (and at most MAX_REPLY_CHUNKS). */
export function renderText(markdown: string, maxChars: number): OutboundMessage[] {
  return formatReply(markdown, maxChars).map(textMessage);
}
