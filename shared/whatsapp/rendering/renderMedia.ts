import * as z from 'zod';
import { mediaTypes } from '../inboundMessage.js';
import type { OutboundMessage } from '../outboundMessage.js';
import { readToolArg } from './readToolArg.js';
import { renderText } from './renderText.js';
import { shortenText } from './shortenText.js';
import type { RenderOptions, ToolRendering } from './toolRendering.js';
import { WHATSAPP_LIMITS as LIMITS } from './whatsAppLimits.js';

const CAPTIONED = new Set(['image', 'video', 'document']);
const nonEmpty = z.string().trim().min(1, 'is empty');
// Meta fetches the link itself from the public internet.
const httpsUrl = z
  .string()
  .trim()
  .refine((value) => URL.parse(value)?.protocol === 'https:', 'is not an https URL');

/**
 * `whatsapp_media(url, type, caption?, filename?)`: a media message by link. Audio and
 * stickers take no caption, so theirs goes out as a text first. A URL that is not https or an
 * unknown type is refused: only the caption is sent, as text.
 */
export function renderMedia(args: Record<string, unknown>, options: RenderOptions): ToolRendering {
  const problems: string[] = [];
  const url = readToolArg(args, 'url', httpsUrl, problems);
  const type = readToolArg(args, 'type', z.enum(mediaTypes), problems);
  const caption = readToolArg(args, 'caption', nonEmpty, problems, { optional: true });
  const filename = readToolArg(args, 'filename', nonEmpty, problems, { optional: true });
  const captionAsText = caption ? renderText(caption, options.maxTextChars) : [];
  if (!url || !type) return { messages: captionAsText, problems };

  const captioned = caption && CAPTIONED.has(type) ? { caption: shortenText(caption, LIMITS.caption) } : {};
  const named = filename && type === 'document' ? { filename } : {};
  const media = { link: url, ...captioned, ...named };
  const message = { type, [type]: media } as OutboundMessage;
  return { messages: CAPTIONED.has(type) ? [message] : [...captionAsText, message], problems };
}
