import type { InboundMessage } from '../whatsapp/inboundMessage.js';

export interface ConsentSettings {
  /** Lower-case words; a message that is exactly one of them (trimmed, any case) opts the user out. */
  optOutCommands: readonly string[];
  optInCommands: readonly string[];
}

/**
 * What the user's consent means for one inbound message, before anything is sent to them
 * (not even a read receipt):
 * - `opt-out`: record it, confirm once, no agent turn;
 * - `opt-in`: lift it, confirm once, no agent turn;
 * - `silent`: the user has opted out and did not opt back in: send nothing at all (a START met
 *   again by a dead-letter replay does not lift an opt-out written in its second or after it);
 * - `proceed`: handle the message as usual.
 */
export type ConsentDecision = 'opt-out' | 'opt-in' | 'silent' | 'proceed';

export function decideConsent(
  message: InboundMessage,
  optOut: { optedOutAt: Date } | undefined,
  settings: ConsentSettings,
  replayed = false,
): ConsentDecision {
  const command = consentCommandOf(message, settings);
  if (command === 'opt-out') return optOut ? 'silent' : 'opt-out';
  if (!optOut) return 'proceed';
  if (command !== 'opt-in') return 'silent';
  // Delivered in the user's order, a START comes after the STOP it answers. Only a replay can bring
  // an older one back; a tie (both in one second) counts as older: silence is the safe side.
  return !replayed || message.timestamp * 1000 > optOut.optedOutAt.getTime() ? 'opt-in' : 'silent';
}

/** A typed word, or a template's quick-reply button such as Meta's "Stop promotions". */
export function consentCommandOf(message: InboundMessage, settings: ConsentSettings): 'opt-out' | 'opt-in' | undefined {
  const { content } = message;
  const text = content.kind === 'text' ? content.text : content.kind === 'button' ? content.text : undefined;
  if (text === undefined) return undefined;
  const word = normaliseCommand(text);
  if (settings.optOutCommands.includes(word)) return 'opt-out';
  if (settings.optInCommands.includes(word)) return 'opt-in';
  return undefined;
}

/** Trimmed, lower-cased and NFC-normalised, so `Stop`, ` STOP ` and a composed `BAJÁ` compare equal to the setting. */
export function normaliseCommand(text: string): string {
  return text.normalize('NFC').trim().toLocaleLowerCase('und');
}
