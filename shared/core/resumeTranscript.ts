import type { InboundContent } from '../whatsapp/inboundMessage.js';

/** One message said while the bot was paused: by the user, or by staff (Business app or admin API). */
export interface TranscriptEntry {
  from: 'user' | 'staff';
  text: string;
  at: Date;
  /** The message's wamid: a redelivered message is recorded once. */
  id: string;
}

/** What a hand-off record keeps of a pause: the newest entries, and how many older ones were dropped. */
export interface StoredTranscript {
  entries: TranscriptEntry[];
  omitted: number;
}

export interface TranscriptLimits {
  /** The whole transcript, header and notes included. */
  maxChars: number;
  /** One message; longer ones are cut with an ellipsis. */
  maxEntryChars: number;
}

/** Enough for a long human exchange, small next to the user's turn; a Firestore record stays far below its 1 MiB. */
export const TRANSCRIPT_LIMITS: TranscriptLimits = { maxChars: 4000, maxEntryChars: 600 };
/** Entries a hand-off record keeps; older ones are only counted. */
export const MAX_STORED_ENTRIES = 100;

const HEADER = '[While you were paused, a person from the business took over this chat. What was said, oldest first:]';
const FOOTER = "[End of the hand-off. The user's new message follows.]";

/**
 * Adds an entry to a stored transcript: once per id, the newest MAX_STORED_ENTRIES kept and the
 * rest counted, so a pause of any length costs a bounded record.
 */
export function appendEntry(transcript: StoredTranscript, entry: TranscriptEntry, maxStored = MAX_STORED_ENTRIES): StoredTranscript {
  if (transcript.entries.some((e) => e.id === entry.id)) return transcript;
  const entries = [...transcript.entries, entry];
  const dropped = Math.max(0, entries.length - maxStored);
  return { entries: entries.slice(dropped), omitted: transcript.omitted + dropped };
}

/**
 * The compact account of a pause that goes before the user's first message after it, so the
 * agent's session holds the human exchange. Each line says who spoke; the newest messages are
 * kept whole up to the limit and older ones are replaced by a note saying how many were left out.
 * Undefined when nothing was said.
 */
export function buildResumeTranscript(transcript: StoredTranscript, limits: TranscriptLimits = TRANSCRIPT_LIMITS): string | undefined {
  if (transcript.entries.length === 0) return undefined;
  const lines = transcript.entries.map((entry) => `${entry.from === 'user' ? 'User' : 'Staff'}: ${oneLine(entry.text, limits.maxEntryChars)}`);
  const omittedNote = (count: number) => `[${count} earlier message${count === 1 ? '' : 's'} left out]`;
  let budget = limits.maxChars - HEADER.length - FOOTER.length - omittedNote(transcript.omitted + lines.length).length - 3;
  let first = lines.length;
  while (first > 0 && budget - (lines[first - 1]!.length + 1) >= 0) {
    budget -= lines[first - 1]!.length + 1;
    first -= 1;
  }
  const omitted = transcript.omitted + first;
  return [HEADER, ...(omitted > 0 ? [omittedNote(omitted)] : []), ...lines.slice(first), FOOTER].join('\n');
}

/** The agent's input for the first turn after a pause: the transcript, then what the user wrote. */
export function withResumeTranscript(transcript: string | undefined, userText: string): string {
  return transcript ? `${transcript}\n\n${userText}` : userText;
}

/** A user's message as one transcript line's text: the words when there are some, else what was sent. */
export function describeInbound(content: InboundContent): string {
  switch (content.kind) {
    case 'text':
      return content.text;
    case 'media':
      return `[${content.voice ? 'voice note' : content.mediaType}${content.caption ? `: ${content.caption}` : content.filename ? `: ${content.filename}` : ''}]`;
    case 'location':
      return `[location${content.name ?? content.address ? `: ${[content.name, content.address].filter(Boolean).join(', ')}` : ''} (${content.latitude}, ${content.longitude})]`;
    case 'contacts':
      return `[contact cards: ${content.contacts.map((c) => [c.name, ...c.phones].filter(Boolean).join(' ')).join('; ')}]`;
    case 'interactive':
      return content.title;
    case 'button':
      return content.text;
    case 'reaction':
      return content.emoji ? `[reacted ${content.emoji}]` : '[removed a reaction]';
    case 'system':
      return `[system notice${content.text ? `: ${content.text}` : ''}]`;
    case 'unsupported':
      return `[a ${content.type} message]`;
  }
}

function oneLine(text: string, maxChars: number): string {
  const flat = text.trim().replace(/\s*\n\s*/g, ' / ');
  if (flat.length <= maxChars) return flat;
  // Never cut between the two halves of an emoji.
  const end = /[\uD800-\uDBFF]/.test(flat[maxChars - 2] ?? '') ? maxChars - 2 : maxChars - 1;
  return `${flat.slice(0, end)}…`;
}
