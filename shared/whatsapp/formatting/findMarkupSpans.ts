import type { TextRange } from './findUrlRanges.js';

/** A stretch of WhatsApp markup, with what closes it at a cut and reopens it after. */
export interface MarkupSpan extends TextRange {
  readonly kind: 'codeBlock' | 'inline';
  readonly open: string;
  readonly close: string;
}

const FENCE = '```';
const INLINE_MARKERS = new Set(['*', '_', '~', '`']);
const WHITESPACE = /\s/u;
const BOUNDARY = /[\s\p{P}\p{S}]/u;

/**
 * Finds the code blocks (```…```) and the inline `*bold*`, `_italic_`, `~strike~` and `code`
 * spans of WhatsApp text, as WhatsApp pairs them: an opener follows the line start, a space or
 * punctuation and touches its text; a closer touches its text and is followed by the line end, a
 * space or punctuation. Inline spans stay within one line; markers inside a URL are ignored.
 */
export function findMarkupSpans(text: string, urls: readonly TextRange[]): MarkupSpan[] {
  const spans: MarkupSpan[] = [];
  const fences = [...text.matchAll(/```/g)].map((match) => match.index);
  let lineStart = 0;
  for (let pair = 0; pair + 1 < fences.length; pair += 2) {
    const start = fences[pair] as number;
    const end = (fences[pair + 1] as number) + FENCE.length;
    spans.push(...findInlineSpans(text, lineStart, start, urls));
    spans.push({ kind: 'codeBlock', start, end, open: `${FENCE}\n`, close: `\n${FENCE}` });
    lineStart = end;
  }
  spans.push(...findInlineSpans(text, lineStart, text.length, urls));
  return spans.sort((a, b) => a.start - b.start);
}

function findInlineSpans(text: string, from: number, to: number, urls: readonly TextRange[]): MarkupSpan[] {
  const spans: MarkupSpan[] = [];
  let lineStart = from;
  while (lineStart < to) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline === -1 || newline > to ? to : newline;
    spans.push(...findSpansInLine(text, lineStart, lineEnd, urls));
    lineStart = lineEnd + 1;
  }
  return spans;
}

function findSpansInLine(text: string, lineStart: number, lineEnd: number, urls: readonly TextRange[]): MarkupSpan[] {
  const spans: MarkupSpan[] = [];
  const closers = new Set<number>();
  const inUrl = (index: number): boolean => urls.some((url) => url.start <= index && index < url.end);
  const canOpen = (index: number): boolean => {
    const before = index === lineStart ? undefined : text[index - 1];
    const after = index + 1 < lineEnd ? text[index + 1] : undefined;
    return (before === undefined || BOUNDARY.test(before)) && after !== undefined && !WHITESPACE.test(after);
  };
  const canClose = (index: number): boolean => {
    const after = index + 1 < lineEnd ? text[index + 1] : undefined;
    return !WHITESPACE.test(text[index - 1] ?? ' ') && (after === undefined || BOUNDARY.test(after));
  };
  for (let index = lineStart; index < lineEnd; index++) {
    const marker = text[index] as string;
    if (!INLINE_MARKERS.has(marker) || closers.has(index) || inUrl(index) || !canOpen(index)) continue;
    // A backtick run (an unpaired ``` fence) is not inline code.
    if (marker === '`' && text[index + 1] === '`') continue;
    let close = index + 2;
    while (close < lineEnd && !(text[close] === marker && !closers.has(close) && !inUrl(close) && canClose(close))) close++;
    if (close >= lineEnd) continue;
    closers.add(close);
    spans.push({ kind: 'inline', start: index, end: close + 1, open: marker, close: marker });
    // Nothing inside inline code is markup.
    if (marker === '`') index = close;
  }
  return spans;
}
