import { markdownToWhatsApp } from '../formatting/markdownToWhatsApp.js';
import { splitMessage } from '../formatting/splitMessage.js';
import { textMessage, type OutboundMessage } from '../outboundMessage.js';

/** The agent's Markdown as WhatsApp text messages of at most `maxChars` each. */
export function renderText(markdown: string, maxChars: number): OutboundMessage[] {
  return splitMessage(markdownToWhatsApp(markdown), maxChars).map(textMessage);
}
