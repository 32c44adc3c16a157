import { markdownToWhatsApp } from '../formatting/markdownToWhatsApp.js';
import { shortenText } from './shortenText.js';
import { WHATSAPP_LIMITS } from './whatsAppLimits.js';

/**
 * The body of a button, list or link message: the agent's Markdown as WhatsApp text. Graph
 * refuses an empty body, so when the conversion leaves nothing (a lone `#` or `<br>`) the text
 * goes as the agent wrote it.
 */
export function interactiveBody(markdown: string): { text: string } {
  const text = markdownToWhatsApp(markdown).trim() || markdown.trim();
  return { text: shortenText(text, WHATSAPP_LIMITS.interactiveBody) };
}
