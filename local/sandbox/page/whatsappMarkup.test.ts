import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findMarkupSpans } from '../../../shared/whatsapp/formatting/findMarkupSpans.js';
import { findUrlRanges } from '../../../shared/whatsapp/formatting/findUrlRanges.js';
import { parseInline, parseMarkup, type MarkupNode } from './whatsappMarkup.js';

const text = (value: string): MarkupNode => ({ type: 'text', text: value });
const paragraph = (...children: MarkupNode[]): MarkupNode => ({ type: 'paragraph', children });
const J = '\u2060';
const MARKERS: Record<string, string> = { bold: '*', italic: '_', strike: '~' };

interface Range {
  start: number;
  end: number;
}

/**
 * Walks an inline tree along the line it was parsed from and returns where its styled and code
 * nodes and its links lie; throws if the tree drops, adds or reorders a character.
 */
function layOut(nodes: MarkupNode[], line: string): { styled: Range[]; links: Range[] } {
  const styled: Range[] = [];
  const links: Range[] = [];
  let at = 0;
  const consume = (expected: string) => {
    if (!line.startsWith(expected, at)) throw new Error(`expected ${JSON.stringify(expected)} at ${at} of ${JSON.stringify(line)}`);
    at += expected.length;
  };
  const walk = (list: MarkupNode[]) => {
    for (const node of list) {
      const start = at;
      switch (node.type) {
        case 'text':
          consume(node.text);
          break;
        case 'link':
          consume(node.text);
          links.push({ start, end: at });
          break;
        case 'code': {
          const fence = line.startsWith('```' + node.text + '```', at) ? '```' : '`';
          consume(fence + node.text + fence);
          styled.push({ start, end: at });
          break;
        }
        case 'bold':
        case 'italic':
        case 'strike':
          consume(MARKERS[node.type] as string);
          walk(node.children);
          consume(MARKERS[node.type] as string);
          styled.push({ start, end: at });
          break;
        default:
          throw new Error(`not an inline node: ${node.type}`);
      }
    }
  };
  walk(nodes);
  if (at !== line.length) throw new Error(`the tree ends at ${at} of ${JSON.stringify(line)}`);
  return { styled, links };
}

const crosses = (a: Range, b: Range) => (a.start < b.start && b.start < a.end && a.end < b.end) || (b.start < a.start && a.start < b.end && b.end < a.end);

describe('WhatsApp markup on the sandbox page', () => {
  it.each<[string, MarkupNode[]]>([
    ['*bold*', [{ type: 'bold', children: [text('bold')] }]],
    ['_italic_', [{ type: 'italic', children: [text('italic')] }]],
    ['~strike~', [{ type: 'strike', children: [text('strike')] }]],
    ['`code`', [{ type: 'code', text: 'code' }]],
    ['```mono```', [{ type: 'code', text: 'mono' }]],
    ['*_both_*', [{ type: 'bold', children: [{ type: 'italic', children: [text('both')] }] }]],
    ['a *b* c', [text('a '), { type: 'bold', children: [text('b')] }, text(' c')]],
  ])('styles %s', (input, expected) => {
    expect(parseInline(input)).toEqual(expected);
  });

  it.each(['2*3*4', 'snake_case_names', '*not closed', '* spaced *', 'a*b*', '~~', 'file_name_v2.txt'])(
    'leaves %s as plain text',
    (input) => {
      expect(parseInline(input)).toEqual([text(input)]);
    },
  );

  it('keeps markup characters inside code and URLs literal', () => {
    expect(parseInline('`*x*` see https://example.com/_a_/b*c*.')).toEqual([
      { type: 'code', text: '*x*' },
      text(' see '),
      { type: 'link', text: 'https://example.com/_a_/b*c', href: 'https://example.com/_a_/b*c' },
      text('*.'),
    ]);
  });

  it('links www addresses over https', () => {
    expect(parseInline('see www.example.com.')).toEqual([
      text('see '),
      { type: 'link', text: 'www.example.com', href: 'https://www.example.com' },
      text('.'),
    ]);
  });

  it('shows markers the converter neutralised (word joiners) as text, as the splitter counts them', () => {
    const neutralised = `${J}*${J}not bold${J}*${J}`;
    expect(findMarkupSpans(neutralised, findUrlRanges(neutralised))).toEqual([]);
    expect(parseInline(neutralised)).toEqual([text(neutralised)]);
  });

  it('leaves the later of two crossing spans as text', () => {
    expect(parseInline('*a _b* c_')).toEqual([{ type: 'bold', children: [text('a _b')] }, text(' c_')]);
  });

  it('styles the spans the splitter finds, drops only crossing ones, and loses no character, on generated lines', () => {
    const piece = fc.constantFrom('*', '_', '~', '`', '```', ' ', 'a', 'é', '7', '.', '(', ')', J, 'https://x.co/', 'www.y.org', '😀');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }).map((pieces) => pieces.join('')), (line) => {
        const { styled, links } = layOut(parseInline(line), line);
        const spans = findMarkupSpans(line, findUrlRanges(line)).map(({ start, end }) => ({ start, end }));
        const same = (a: Range) => (b: Range) => a.start === b.start && a.end === b.end;
        for (const range of styled) expect(spans.some(same(range)), `${JSON.stringify(line)} ${range.start}-${range.end}`).toBe(true);
        // A span the page does not style crosses one it shows (a tree cannot nest crossing spans),
        // or lies within a link, which shows its address as it is (the splitter pairs ``` even there).
        const within = (outer: Range, inner: Range) => outer.start <= inner.start && inner.end <= outer.end;
        for (const span of spans.filter((candidate) => !styled.some(same(candidate)))) {
          const explained = [...styled, ...links].some((shown) => crosses(shown, span)) || links.some((link) => within(link, span));
          expect(explained, `${JSON.stringify(line)} ${span.start}-${span.end}`).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps HTML as text, for the page to insert as text nodes', () => {
    expect(parseMarkup('<img src=x onerror=alert(1)> *hi*')).toEqual([
      paragraph(text('<img src=x onerror=alert(1)> '), { type: 'bold', children: [text('hi')] }),
    ]);
  });

  it('builds paragraphs, lists, quotes and code blocks', () => {
    const message = [
      'Hola *Ana*',
      'second line',
      '',
      '- one',
      '* two',
      '1. first',
      '2. second',
      '> quoted',
      '> more',
      '```',
      'const x = *1*;',
      '```',
      'bye',
    ].join('\n');

    expect(parseMarkup(message)).toEqual([
      paragraph(text('Hola '), { type: 'bold', children: [text('Ana')] }, { type: 'break' }, text('second line')),
      { type: 'list', ordered: false, start: 1, children: [{ type: 'item', children: [text('one')] }, { type: 'item', children: [text('two')] }] },
      { type: 'list', ordered: true, start: 1, children: [{ type: 'item', children: [text('first')] }, { type: 'item', children: [text('second')] }] },
      { type: 'quote', children: [text('quoted'), { type: 'break' }, text('more')] },
      { type: 'pre', text: 'const x = *1*;' },
      paragraph(text('bye')),
    ]);
  });

  it('continues a numbered list split by blank lines at the right number', () => {
    expect(parseMarkup('1. a\n\n2. b')).toEqual([
      { type: 'list', ordered: true, start: 1, children: [{ type: 'item', children: [text('a')] }] },
      { type: 'list', ordered: true, start: 2, children: [{ type: 'item', children: [text('b')] }] },
    ]);
  });
});
