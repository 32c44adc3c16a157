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

/** The same cap over a turn's text parts together: once the budget is spent, later text parts are dropped. */
export function capReplyParts(parts: AgentReplyPart[], maxChars: number): AgentReplyPart[] {
  let budget = maxChars;
  return parts.flatMap((part): AgentReplyPart[] => {
    if (part.kind !== 'text') return [part];
    if (budget <= 0) return [];
    const text = capReplyText(part.text, budget);
    budget -= text.length;
    return [{ kind: 'text' as const, text }];
  });
}
