import type { AgentReplyPart } from './parseAgentEvents.js';

const ELLIPSIS = '…';
/** How far back from the cap a word break is looked for, as a share of the cap. */
const WORD_BREAK_WINDOW = 0.1;

/**
 * The agent's reply cut to at most `maxChars` UTF-16 units, at a word break near the cap when
 * there is one, ending in `…`. An unbounded reply would block the worker formatting it and could
 * not be stored (a Firestore document holds 1 MiB).
 */
export function capReplyText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let cut = text.slice(0, maxChars - ELLIPSIS.length);
  // Never leave half of a surrogate pair: it is not valid text and Firestore would refuse it.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  const lastBreak = cut.search(/\s\S*$/);
  if (lastBreak >= cut.length * (1 - WORD_BREAK_WINDOW)) cut = cut.slice(0, lastBreak);
  return cut.trimEnd() + ELLIPSIS;
}

/**
 * The same cap over a turn's text parts together: once the budget is spent, later text parts are
 * dropped, and the last text kept ends in `…` (even when it fitted exactly), so a cut reply says so.
 */
export function capReplyParts(parts: AgentReplyPart[], maxChars: number): AgentReplyPart[] {
  let textLeft = parts.reduce((sum, part) => sum + (part.kind === 'text' ? part.text.length : 0), 0);
  let budget = maxChars;
  return parts.flatMap((part): AgentReplyPart[] => {
    if (part.kind !== 'text') return [part];
    if (budget <= 0) return [];
    textLeft -= part.text.length;
    // It spends the budget exactly and more text follows: the cut is here, so it carries the `…`.
    const cutHere = part.text.length === budget && textLeft > 0;
    const text = cutHere ? capReplyText(part.text, part.text.length - 1) : capReplyText(part.text, budget);
    budget = cutHere ? 0 : budget - text.length;
    return [{ kind: 'text' as const, text }];
  });
}
