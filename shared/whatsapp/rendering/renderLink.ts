import * as z from 'zod';
import { interactiveBody } from './interactiveBody.js';
import { readToolArg } from './readToolArg.js';
import { renderText } from './renderText.js';
import { shortenText } from './shortenText.js';
import type { RenderOptions, ToolRendering } from './toolRendering.js';
import { WHATSAPP_LIMITS as LIMITS } from './whatsAppLimits.js';

export const DEFAULT_LINK_LABEL = 'Open link';

const nonEmpty = z.string().trim().min(1, 'is empty');
const webUrl = z
  .string()
  .trim()
  .refine((value) => ['https:', 'http:'].includes(URL.parse(value)?.protocol ?? ''), 'is not an http(s) URL');

/**
 * `whatsapp_link(text, url, label)`: a message with one call-to-action button that opens the
 * URL. Without a text the link goes out as plain text; with a bad URL only the text goes.
 */
export function renderLink(args: Record<string, unknown>, options: RenderOptions): ToolRendering {
  const problems: string[] = [];
  const text = readToolArg(args, 'text', nonEmpty, problems);
  const url = readToolArg(args, 'url', webUrl, problems);
  const label = readToolArg(args, 'label', nonEmpty, problems) ?? DEFAULT_LINK_LABEL;
  if (!url) return { messages: text ? renderText(text, options.maxTextChars) : [], problems };
  if (!text) return { messages: renderText(`${label}: ${url}`, options.maxTextChars), problems };
  return {
    messages: [
      {
        type: 'interactive',
        interactive: {
          type: 'cta_url',
          body: interactiveBody(text),
          action: { name: 'cta_url', parameters: { display_text: shortenText(label, LIMITS.ctaDisplayText), url } },
        },
      },
    ],
    problems,
  };
}
