import type { InboundMessage, MediaType } from '../whatsapp/inboundMessage.js';
import { normaliseCommand } from './consentCommands.js';

/** What the worker does with one inbound message. Pure: no I/O. */
export type Action =
  /** Ask the agent; `media` names an attachment to fetch and pass along. */
  | { kind: 'ask-agent'; text: string; media?: { mediaId: string; mediaType: MediaType; mimeType?: string | undefined; fileName?: string | undefined } }
  /** Answer with a fixed text, without the agent. */
  | { kind: 'reply'; text: string }
  /** Start a new agent session and confirm. */
  | { kind: 'reset-session' }
  /** Nothing to say (reactions, system notices). */
  | { kind: 'ignore'; reason: string };

export interface ActionSettings {
  agentAcceptsMedia: boolean;
  unsupportedText: string;
  mediaUnsupportedText: string;
  resetCommands: readonly string[];
}

export function decideAction(message: InboundMessage, settings: ActionSettings): Action {
  const { content } = message;
  switch (content.kind) {
    case 'text': {
      const command = normaliseCommand(content.text);
      if (settings.resetCommands.includes(command)) return { kind: 'reset-session' };
      return { kind: 'ask-agent', text: content.text };
    }
    case 'media': {
      if (!settings.agentAcceptsMedia) return { kind: 'reply', text: settings.mediaUnsupportedText };
      const label = content.voice ? 'voice note' : content.mediaType;
      return {
        kind: 'ask-agent',
        text: content.caption ?? `[The user sent a ${label}${content.filename ? `: ${content.filename}` : ''}]`,
        media: { mediaId: content.mediaId, mediaType: content.mediaType, mimeType: content.mimeType, fileName: content.filename },
      };
    }
    case 'location': {
      const place = [content.name, content.address].filter(Boolean).join(', ');
      return {
        kind: 'ask-agent',
        text: `[The user shared a location${place ? `: ${place}` : ''} (latitude ${content.latitude}, longitude ${content.longitude})]`,
      };
    }
    case 'contacts': {
      const cards = content.contacts.map((c) => [c.name, ...c.phones].filter(Boolean).join(' ')).join('; ');
      return { kind: 'ask-agent', text: `[The user shared contact cards: ${cards}]` };
    }
    case 'interactive':
      return { kind: 'ask-agent', text: tappedOption(content.title, content.id) };
    case 'button':
      return { kind: 'ask-agent', text: content.payload ? tappedOption(content.text, content.payload) : content.text };
    case 'reaction':
      return { kind: 'ignore', reason: content.emoji ? 'reaction' : 'reaction removed' };
    case 'system':
      return { kind: 'ignore', reason: `system message ${content.systemType ?? ''}`.trim() };
    case 'unsupported':
      // Meta's own "unsupported" covers edits, pins and the like: nothing the user expects an answer to.
      if (content.fromMeta) return { kind: 'ignore', reason: `unsupported ${content.type}` };
      return { kind: 'reply', text: settings.unsupportedText };
  }
}

/**
 * A tapped button or list row as the agent reads it: what the user chose, in the words on the
 * button, then the option's id on a line of its own so an agent can branch on it
 * (documented in examples/adk-agent/README.md).
 */
function tappedOption(title: string, id: string): string {
  return `${title}\n[option id: ${id}]`;
}
