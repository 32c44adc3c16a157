import { findMarkupSpans, type MarkupSpan } from './findMarkupSpans.js';
import { findUrlRanges, type TextRange } from './findUrlRanges.js';

// Leaves room for a reopened and a closed code fence (8) around the longest common graphemes.
const MIN_MAX_CHARS = 32;
// More nested inline spans than `*_~` plus `code` is not markup anyone meant: cut without them.
const MAX_INLINE_CARRY = 4;
// Whether a grapheme ends before a position depends on the whole code point there.
const GRAPHEME_LOOKAHEAD = 32;
const WHITESPACE = /\s/u;
const SENTENCE_END = /[.!?…。！？][)"'”’»*_~]*$/u;
// A line that is all bold is a heading (see markdownToWhatsApp): it travels with its section.
const HEADING = /^\*[^*\n]+\*$/u;

const PARAGRAPH = 0;
const LINE = 1;
const SENTENCE = 2;
const WORD = 3;
const LEVELS = [PARAGRAPH, LINE, SENTENCE, WORD];

interface Break {
  readonly position: number;
  readonly level: number;
  readonly next: number;
}

interface Cut {
  readonly chunk: string;
  readonly next: number;
  readonly nextPrefix: string;
}

interface Source {
  readonly body: string;
  readonly maxChars: number;
  readonly spans: readonly MarkupSpan[];
  readonly urls: readonly TextRange[];
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Splits WhatsApp text into messages of at most `maxChars` UTF-16 code units (the unit of
 * JavaScript's `length`, never fewer than WhatsApp's characters), at the last paragraph break that
 * fits, else line, sentence, then word break, never inside `*…*`, `_…_`, `~…~`, `` `…` `` or a
 * URL. A code block too long for one message is cut between lines, closed with ``` and reopened
 * in the next. Only a single word longer than a message is cut inside, between graphemes.
 */
export function splitMessage(text: string, maxChars = 4096): string[] {
  if (!Number.isInteger(maxChars) || maxChars < MIN_MAX_CHARS) {
    throw new RangeError(`maxChars must be an integer of at least ${MIN_MAX_CHARS}, got ${maxChars}`);
  }
  const body = text.trim();
  if (body === '') return [];
  const urls = findUrlRanges(body);
  const source: Source = { body, maxChars, urls, spans: findMarkupSpans(body, urls) };
  const chunks: string[] = [];
  let start = 0;
  let prefix = '';
  while (prefix.length + body.length - start > maxChars) {
    const cut = cutAtBreak(source, start, prefix) ?? cutInsideWord(source, start, prefix);
    chunks.push(cut.chunk);
    start = cut.next;
    prefix = cut.nextPrefix;
  }
  chunks.push(prefix + body.slice(start));
  return chunks;
}

function cutAtBreak(source: Source, start: number, prefix: string): Cut | undefined {
  const limit = start + source.maxChars - prefix.length;
  const spans = spansOverlapping(source.spans, start, limit);
  const breaks = findBreaks(source.body, start, limit, spans).reverse();
  for (const insideInlineSpan of [false, true]) {
    for (const level of LEVELS) {
      for (const candidate of breaks) {
        if (candidate.level !== level) continue;
        const open = spansContaining(spans, candidate.position);
        if (!insideInlineSpan && open.some((span) => span.kind === 'inline')) continue;
        const cut = makeCut(source, start, prefix, candidate.position, candidate.next, open);
        if (cut) return cut;
      }
    }
  }
  return undefined;
}

function cutInsideWord(source: Source, start: number, prefix: string): Cut {
  const { body, maxChars, urls } = source;
  const limit = start + maxChars - prefix.length;
  const spans = spansOverlapping(source.spans, start, limit);
  const boundaries = graphemeBoundaries(body, start, limit).reverse();
  const preferences = [
    (position: number) => !inAny(urls, position) && !spansContaining(spans, position).some((span) => span.kind === 'inline'),
    (position: number) => !inAny(urls, position),
    () => true,
  ];
  for (const acceptable of preferences) {
    for (const position of boundaries) {
      if (!acceptable(position)) continue;
      const cut = makeCut(source, start, prefix, position, nextStart(body, position, spans), spansContaining(spans, position));
      if (cut) return cut;
    }
  }
  // One grapheme longer than a message (a letter under hundreds of combining marks): cut between
  // code points, leaving room for a closing marker.
  let position = limit - MAX_INLINE_CARRY;
  if (/[\uD800-\uDBFF]/.test(body[position - 1] ?? '')) position--;
  const carry = carried(spansContaining(spans, position));
  return {
    chunk: prefix + body.slice(start, position) + carry.close,
    next: nextStart(body, position, spans),
    nextPrefix: carry.open,
  };
}

function makeCut(
  source: Source,
  start: number,
  prefix: string,
  position: number,
  next: number,
  open: readonly MarkupSpan[],
): Cut | undefined {
  const content = source.body.slice(start, position).trimEnd();
  if (content.trim() === '') return undefined;
  const carry = carried(open);
  const chunk = prefix + content + carry.close;
  return chunk.length <= source.maxChars ? { chunk, next, nextPrefix: carry.open } : undefined;
}

function carried(open: readonly MarkupSpan[]): { open: string; close: string } {
  const inline = open.filter((span) => span.kind === 'inline');
  const kept = inline.length > MAX_INLINE_CARRY ? open.filter((span) => span.kind === 'codeBlock') : open;
  return {
    open: kept.map((span) => span.open).join(''),
    close: kept
      .map((span) => span.close)
      .reverse()
      .join(''),
  };
}

function findBreaks(body: string, start: number, limit: number, spans: readonly MarkupSpan[]): Break[] {
  const codeBlocks = spans.filter((span) => span.kind === 'codeBlock');
  const breaks: Break[] = [];
  for (let position = start + 1; position <= limit && position < body.length; position++) {
    const character = body[position] as string;
    const block = codeBlocks.find((span) => span.start < position && position < span.end);
    if (block) {
      if (character === '\n' && isCodeLineBreak(body, block, start, position)) {
        breaks.push({ position, level: LINE, next: position + 1 });
      }
      continue;
    }
    if (!WHITESPACE.test(character) || WHITESPACE.test(body[position - 1] as string)) continue;
    const next = skipWhitespace(body, position);
    const newlines = body.slice(position, next).split('\n').length - 1;
    const level =
      newlines >= 2 && !HEADING.test(body.slice(body.lastIndexOf('\n', position - 1) + 1, position))
        ? PARAGRAPH
        : newlines >= 1
          ? LINE
          : SENTENCE_END.test(body.slice(Math.max(start, position - 8), position))
            ? SENTENCE
            : WORD;
    breaks.push({ position, level, next });
  }
  return breaks;
}

/** A line break inside a code block that leaves real code on both sides of the cut. */
function isCodeLineBreak(body: string, block: MarkupSpan, start: number, position: number): boolean {
  const fenceLineEnd = body.indexOf('\n', block.start);
  if (fenceLineEnd === -1 || position <= fenceLineEnd) return false;
  const before = body.slice(Math.max(start, fenceLineEnd + 1), position);
  const after = body.slice(position, block.end - 3);
  return before.trim() !== '' && after.trim() !== '';
}

function graphemeBoundaries(body: string, start: number, limit: number): number[] {
  const window = body.slice(start, limit + GRAPHEME_LOOKAHEAD);
  const boundaries: number[] = [];
  for (const { index } of graphemes.segment(window)) {
    if (index > 0 && start + index <= limit) boundaries.push(start + index);
  }
  return boundaries;
}

/** Code keeps its indentation after a cut; elsewhere the next message starts at the next word. */
function nextStart(body: string, position: number, spans: readonly MarkupSpan[]): number {
  const inCode = spansContaining(spans, position).some((span) => span.kind === 'codeBlock');
  return inCode ? position : skipWhitespace(body, position);
}

function skipWhitespace(body: string, position: number): number {
  let next = position;
  while (next < body.length && WHITESPACE.test(body[next] as string)) next++;
  return next;
}

function spansOverlapping(spans: readonly MarkupSpan[], start: number, limit: number): MarkupSpan[] {
  return spans.filter((span) => span.start <= limit && span.end >= start);
}

function spansContaining(spans: readonly MarkupSpan[], position: number): MarkupSpan[] {
  return spans.filter((span) => span.start < position && position < span.end);
}

function inAny(ranges: readonly TextRange[], position: number): boolean {
  return ranges.some((range) => range.start < position && position < range.end);
}
