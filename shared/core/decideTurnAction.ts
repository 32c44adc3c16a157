import type { MediaRef } from '../media/agentMedia.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import { consentCommandOf, type ConsentSettings } from './consentCommands.js';
import { decideAction, type ActionSettings } from './decideAction.js';

/** One message's share of the agent's input; `quotes` names a bot message it replied to. */
export interface AgentPart {
  text: string;
  media?: MediaRef;
  quotes?: string;
}

/** What the worker does with one turn (one message, or a burst of them). Pure: no I/O. */
export type TurnAction =
  /** Ask the agent once; the parts keep the messages' order. */
  | { kind: 'ask-agent'; parts: AgentPart[] }
  | { kind: 'reply'; text: string }
  | { kind: 'reset-session' }
  | { kind: 'ignore'; reason: string };

/** Actions that are commands: such a message closes the burst before it and is handled alone. */
const BURST_ENDING_ACTIONS: ReadonlySet<TurnAction['kind']> = new Set(['reset-session']);

/** The hook for the burst state machine: does this message end a burst? Commands and opt-out/opt-in words do. */
export function endsBurst(message: InboundMessage, settings: ActionSettings & ConsentSettings): boolean {
  return BURST_ENDING_ACTIONS.has(decideAction(message, settings).kind) || consentCommandOf(message, settings) !== undefined;
}

/**
 * One turn's action. A turn of one message does exactly what that message alone would. In a
 * longer turn the agent is asked once with every message's part in order; a message the bot
 * cannot read becomes a note in its place, so the answer does not ignore it; a turn with nothing
 * for the agent gets one fixed reply at most.
 */
export function decideTurnAction(messages: readonly InboundMessage[], settings: ActionSettings): TurnAction {
  const actions = messages.map((message) => ({ message, action: decideAction(message, settings) }));
  if (actions.length === 0) throw new Error('a turn has at least one message');
  if (actions.some(({ action }) => action.kind === 'reset-session')) return { kind: 'reset-session' };
  const asksAgent = actions.some(({ action }) => action.kind === 'ask-agent');
  if (!asksAgent) {
    const replies = actions.flatMap(({ action }) => (action.kind === 'reply' ? [action] : []));
    if (replies.length > 0) return replies[replies.length - 1]!;
    const ignored = actions.flatMap(({ action }) => (action.kind === 'ignore' ? [action] : []));
    return ignored.length === 1 ? ignored[0]! : { kind: 'ignore', reason: `${actions.length} messages with nothing to answer` };
  }
  const parts: AgentPart[] = [];
  for (const { message, action } of actions) {
    if (action.kind === 'ask-agent') {
      parts.push({
        text: action.text,
        // Named after its own message, so every attempt at the turn finds the same stored copy.
        ...(action.media ? { media: { wamid: message.wamid, ...action.media } } : {}),
        ...(message.contextWamid ? { quotes: message.contextWamid } : {}),
      });
    } else if (action.kind === 'reply') {
      parts.push({ text: unreadableNote(message) });
    }
  }
  return { kind: 'ask-agent', parts };
}

function unreadableNote(message: InboundMessage): string {
  const { content } = message;
  if (content.kind === 'media') return `[The user sent an attachment (${content.voice ? 'voice note' : content.mediaType}) the bot cannot open]`;
  return `[The user sent a ${content.kind === 'unsupported' ? content.type : content.kind} message the bot cannot read]`;
}
