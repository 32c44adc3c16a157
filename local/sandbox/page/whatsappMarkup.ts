import { findMarkupSpans, type MarkupSpan } from '../../../shared/whatsapp/formatting/findMarkupSpans.js';
import { findUrlRanges } from '../../../shared/whatsapp/formatting/findUrlRanges.js';

/**
 * Lays WhatsApp text out as a small tree the chat page turns into DOM nodes (never HTML strings,
 * so user and bot text cannot inject markup). What is markup and what is a link is decided by the
 * worker's own code (shared/whatsapp/formatting), bundled into this module for the browser by the
 * sandbox, so the page shows replies as the splitter and the Markdown converter expect WhatsApp to.
 */

export type MarkupNode =
  | { type: 'text' | 'code' | 'pre'; text: string }
  | { type: 'link'; text: string; href: string }
  | { type: 'bold' | 'italic' | 'strike' | 'paragraph' | 'quote' | 'item'; children: MarkupNode[] }
  | { type: 'list'; ordered: boolean; start: number; children: MarkupNode[] }
  | { type: 'break' };

const FENCE = '```';
const STYLES: Record<string, 'bold' | 'italic' | 'strike'> = { '*': 'bold', _: 'italic', '~': 'strike' };

export function parseMarkup(text: string): MarkupNode[] {
  const source = text.replace(/\r\n?/g, '\n');
  const blocks: MarkupNode[] = [];
  let last = 0;
  // A fence pair spanning lines is a code block; one within a line is inline monospace (parseInline).
  for (const span of findMarkupSpans(source, findUrlRanges(source))) {
    const code = source.slice(span.start + FENCE.length, span.end - FENCE.length);
    if (span.kind !== 'codeBlock' || !code.includes('\n')) continue;
    blocks.push(...parseLines(source.slice(last, span.start)));
    blocks.push({ type: 'pre', text: code.replace(/^\n/, '').replace(/\n$/, '') });
    last = span.end;
  }
  blocks.push(...parseLines(source.slice(last)));
  return blocks;
}

type Block = Extract<MarkupNode, { children: MarkupNode[] }>;

/** Groups lines into paragraphs, lists and quotes; a blank line ends the current one. */
function parseLines(text: string): MarkupNode[] {
  const blocks: Block[] = [];
  let afterBlank = true;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      afterBlank = true;
      continue;
    }
    const bullet = /^\s*[*-] (.*)$/.exec(line);
    const numbered = /^\s*(\d+)\. (.*)$/.exec(line);
    const quote = /^> ?(.*)$/.exec(line);
    const type = bullet || numbered ? 'list' : quote ? 'quote' : 'paragraph';
    const ordered = Boolean(numbered);
    const last = blocks.at(-1);
    const continues = !afterBlank && last?.type === type && (last.type !== 'list' || last.ordered === ordered);
    afterBlank = false;
    if (type === 'list') {
      const item: MarkupNode = { type: 'item', children: parseInline((bullet ?? numbered)?.at(-1) ?? '') };
      if (continues && last) last.children.push(item);
      else blocks.push({ type: 'list', ordered, start: numbered ? Number(numbered[1]) : 1, children: [item] });
      continue;
    }
    const children = parseInline(quote ? (quote[1] ?? '') : line);
    if (continues && last) last.children.push({ type: 'break' }, ...children);
    else blocks.push({ type, children });
  }
  return blocks;
}

interface Range {
  start: number;
  end: number;
  span?: MarkupSpan;
}

/** One line's styles, code and links as nested nodes. */
export function parseInline(text: string): MarkupNode[] {
  const urls = findUrlRanges(text);
  const ranges: Range[] = [...findMarkupSpans(text, urls).map((span) => ({ start: span.start, end: span.end, span })), ...urls];
  // Outer ranges first; a range that crosses one already laid out stays plain text.
  ranges.sort((a, b) => a.start - b.start || b.end - a.end);
  return nodesIn(text, ranges, 0, text.length);
}

function nodesIn(text: string, ranges: readonly Range[], from: number, to: number): MarkupNode[] {
  const nodes: MarkupNode[] = [];
  let at = from;
  const plain = (end: number) => {
    if (end > at) nodes.push({ type: 'text', text: text.slice(at, end) });
  };
  for (const range of ranges) {
    if (range.start < at || range.end > to) continue;
    plain(range.start);
    nodes.push(nodeFor(text, ranges, range));
    at = range.end;
  }
  plain(to);
  return nodes;
}

function nodeFor(text: string, ranges: readonly Range[], range: Range): MarkupNode {
  const { span } = range;
  if (!span) {
    const url = text.slice(range.start, range.end);
    return { type: 'link', text: url, href: /^https?:\/\//i.test(url) ? url : `https://${url}` };
  }
  if (span.kind === 'codeBlock') return { type: 'code', text: text.slice(span.start + FENCE.length, span.end - FENCE.length) };
  // Inline markers are one character each side.
  const inner = { start: span.start + 1, end: span.end - 1 };
  const style = STYLES[span.open];
  if (!style) return { type: 'code', text: text.slice(inner.start, inner.end) };
  return { type: style, children: nodesIn(text, ranges, inner.start, inner.end) };
}
