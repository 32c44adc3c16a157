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
  const inUrl = new Uint8Array(text.length);
  for (const url of urls) inUrl.fill(1, url.start, url.end);
  const spans: MarkupSpan[] = [];
  const fences = [...text.matchAll(/```/g)].map((match) => match.index);
  let proseStart = 0;
  for (let pair = 0; pair + 1 < fences.length; pair += 2) {
    const start = fences[pair] as number;
    const end = (fences[pair + 1] as number) + FENCE.length;
    spans.push(...findInlineSpans(text, proseStart, start, inUrl));
    spans.push({ kind: 'codeBlock', start, end, open: `${FENCE}\n`, close: `\n${FENCE}` });
    proseStart = end;
  }
  spans.push(...findInlineSpans(text, proseStart, text.length, inUrl));
  return spans.sort((a, b) => a.start - b.start);
}

function findInlineSpans(text: string, from: number, to: number, inUrl: Uint8Array): MarkupSpan[] {
  const spans: MarkupSpan[] = [];
  let lineStart = from;
  while (lineStart < to) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline === -1 || newline > to ? to : newline;
    spans.push(...findSpansInLine(text, lineStart, lineEnd, inUrl));
    lineStart = lineEnd + 1;
  }
  return spans;
}

function findSpansInLine(text: string, lineStart: number, lineEnd: number, inUrl: Uint8Array): MarkupSpan[] {
  const canOpen = (index: number): boolean => {
    const before = index === lineStart ? undefined : text[index - 1];
    const after = index + 1 < lineEnd ? text[index + 1] : undefined;
    return (before === undefined || BOUNDARY.test(before)) && after !== undefined && !WHITESPACE.test(after);
  };
  const canClose = (index: number): boolean => {
    const after = index + 1 < lineEnd ? text[index + 1] : undefined;
    return index > lineStart && !WHITESPACE.test(text[index - 1] as string) && (after === undefined || BOUNDARY.test(after));
  };
  const closers = new Map([...INLINE_MARKERS].map((marker) => [marker, new Closers()]));
  for (let index = lineStart; index < lineEnd; index++) {
    const marker = text[index] as string;
    if (INLINE_MARKERS.has(marker) && !inUrl[index] && canClose(index)) closers.get(marker)?.add(index);
  }
  const spans: MarkupSpan[] = [];
  const used = new Set<number>();
  for (let index = lineStart; index < lineEnd; index++) {
    const marker = text[index] as string;
    if (!INLINE_MARKERS.has(marker) || used.has(index) || inUrl[index] || !canOpen(index)) continue;
    // A backtick run (an unpaired ``` fence) is not inline code.
    if (marker === '`' && text[index + 1] === '`') continue;
    const close = closers.get(marker)?.takeFirstAfter(index + 1);
    if (close === undefined) continue;
    used.add(close);
    spans.push({ kind: 'inline', start: index, end: close + 1, open: marker, close: marker });
    // Nothing inside inline code is markup.
    if (marker === '`') index = close;
  }
  return spans;
}

/**
 * The closing candidates of one marker on a line, each usable once. Openers are visited left to
 * right, so a cursor and a skip-list over used closers keep the pairing linear on long lines.
 */
class Closers {
  private readonly positions: number[] = [];
  private readonly nextUnused: number[] = [];
  private cursor = 0;

  add(position: number): void {
    this.nextUnused.push(this.positions.length);
    this.positions.push(position);
  }

  takeFirstAfter(position: number): number | undefined {
    while (this.cursor < this.positions.length && (this.positions[this.cursor] as number) <= position) this.cursor++;
    const slot = this.findUnused(this.cursor);
    if (slot >= this.positions.length) return undefined;
    this.nextUnused[slot] = slot + 1;
    return this.positions[slot];
  }

  private findUnused(slot: number): number {
    let current = slot;
    while (current < this.positions.length && this.nextUnused[current] !== current) {
      const next = this.nextUnused[current] as number;
      this.nextUnused[current] = this.nextUnused[next] ?? next;
      current = next;
    }
    return current;
  }
}
