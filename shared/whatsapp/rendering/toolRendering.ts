import type { OutboundMessage } from '../outboundMessage.js';

/** What one tool call became: the messages to send, and why it was not rendered as asked (for the log). */
export interface ToolRendering {
  messages: OutboundMessage[];
  problems: string[];
}

export interface RenderOptions {
  /** Longest text message (MAX_REPLY_CHARS). */
  maxTextChars: number;
}
