import type { AgentReplyPart } from '../../agent/parseAgentEvents.js';
import type { OutboundMessage } from '../outboundMessage.js';
import type { ReplyChunk } from './replyChunk.js';
import { renderButtons } from './renderButtons.js';
import { renderLink } from './renderLink.js';
import { renderLocation } from './renderLocation.js';
import { renderMedia } from './renderMedia.js';
import { renderText } from './renderText.js';
import type { RenderOptions, ToolRendering } from './toolRendering.js';
import { HANDOFF_TOOL, type WHATSAPP_TOOL_PARAMETERS } from './whatsAppTools.js';

const RENDERERS = {
  whatsapp_buttons: renderButtons,
  whatsapp_media: renderMedia,
  whatsapp_location: renderLocation,
  whatsapp_link: renderLink,
} satisfies Record<
  Exclude<keyof typeof WHATSAPP_TOOL_PARAMETERS, typeof HANDOFF_TOOL>,
  (args: Record<string, unknown>, options: RenderOptions) => ToolRendering
>;

export interface RenderedReply {
  chunks: ReplyChunk[];
  /** Calls that were not rendered as asked, with the reasons, for the log. */
  problems: { tool: string; problems: string[] }[];
}

/**
 * Turns the agent's turn into what the bridge sends, in the order the agent produced it:
 * text through Markdown conversion and splitting, each WhatsApp tool call as its message(s),
 * a hand-off (at most one) after everything else. Calls to the agent's other tools are its own
 * business and render nothing. Never throws: a malformed call becomes the text it still holds.
 */
export function renderReply(parts: readonly AgentReplyPart[], options: RenderOptions): RenderedReply {
  const chunks: ReplyChunk[] = [];
  const problems: RenderedReply['problems'] = [];
  let handoff: ReplyChunk | undefined;
  for (const part of parts) {
    if (part.kind === 'text') {
      chunks.push(...renderText(part.text, options.maxTextChars).map(asChunk));
      continue;
    }
    if (part.name === HANDOFF_TOOL) {
      const reason = typeof part.args.reason === 'string' && part.args.reason.trim() ? part.args.reason.trim() : undefined;
      handoff ??= { kind: 'handoff', ...(reason ? { reason } : {}) };
      continue;
    }
    if (!Object.hasOwn(RENDERERS, part.name)) continue;
    const rendering = RENDERERS[part.name as keyof typeof RENDERERS](part.args, options);
    chunks.push(...rendering.messages.map(asChunk));
    if (rendering.problems.length > 0) problems.push({ tool: part.name, problems: rendering.problems });
  }
  if (handoff) chunks.push(handoff);
  return { chunks, problems };
}

function asChunk(message: OutboundMessage): ReplyChunk {
  return { kind: 'message', message };
}
