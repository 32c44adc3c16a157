import { describe, expect, it } from 'vitest';
import { findMarkupSpans } from './findMarkupSpans.js';
import { findUrlRanges } from './findUrlRanges.js';

function spansIn(text: string): string[] {
  return findMarkupSpans(text, findUrlRanges(text)).map(({ kind, start, end }) => `${kind}:${text.slice(start, end)}`);
}

const J = '\u2060';

describe('findMarkupSpans', () => {
  it.each([
    { name: 'plain text', text: 'Hola mundo', expected: [] },
    {
      name: 'bold, italic, strike and code',
      text: '*negrita* _cursiva_ ~tachado~ `código`',
      expected: ['inline:*negrita*', 'inline:_cursiva_', 'inline:~tachado~', 'inline:`código`'],
    },
    { name: 'nested', text: '_*ambos*_', expected: ['inline:_*ambos*_', 'inline:*ambos*'] },
    { name: 'after punctuation', text: '(*nota*): sí', expected: ['inline:*nota*'] },
    { name: 'inside a word is not markup', text: '2*3*4 snake_case_x', expected: [] },
    { name: 'neutralised markers are not markup', text: `${J}*${J}a${J}*${J}`, expected: [] },
    { name: 'a marker must touch its text', text: '* a * b', expected: [] },
    { name: 'spans stay within a line', text: '*uno\ndos*', expected: [] },
    { name: 'nothing inside inline code is markup', text: '`a *b* c`', expected: ['inline:`a *b* c`'] },
    { name: 'markers inside a URL are ignored', text: 'https://x.com/_a y b_', expected: [] },
    {
      name: 'code blocks, with no inline markup inside',
      text: 'Mira:\n```\nx = *a* + _b_\n```\ny *fin*',
      expected: ['inline:*fin*', 'codeBlock:```\nx = *a* + _b_\n```'].sort(),
    },
    { name: 'an unclosed fence is text', text: '```\nabierto', expected: [] },
  ])('$name', ({ text, expected }) => {
    expect(spansIn(text).sort()).toEqual([...expected].sort());
  });
});
