import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkup, type MarkupNode } from './whatsappMarkup.js';

const text = (value: string): MarkupNode => ({ type: 'text', text: value });
const paragraph = (...children: MarkupNode[]): MarkupNode => ({ type: 'paragraph', children });

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
      { type: 'link', text: 'https://example.com/_a_/b*c*' },
      text('.'),
    ]);
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
