import { describe, expect, it } from 'vitest';
import { findUrlRanges } from './findUrlRanges.js';

function urlsIn(text: string): string[] {
  return findUrlRanges(text).map(({ start, end }) => text.slice(start, end));
}

describe('findUrlRanges', () => {
  it.each([
    { name: 'none', text: 'sin enlaces aquí', expected: [] },
    { name: 'sentence punctuation is not part of the URL', text: 'Mira https://example.com/a_b.', expected: ['https://example.com/a_b'] },
    { name: 'a closing bracket of the sentence', text: 'docs (https://example.com/docs)', expected: ['https://example.com/docs'] },
    {
      name: 'a bracket the URL opened',
      text: 'https://en.wikipedia.org/wiki/Java_(lenguaje)',
      expected: ['https://en.wikipedia.org/wiki/Java_(lenguaje)'],
    },
    { name: 'www without scheme, and several', text: 'www.example.com y http://x.io/?q=1!', expected: ['www.example.com', 'http://x.io/?q=1'] },
    { name: 'bold around a URL', text: '*https://example.com*', expected: ['https://example.com'] },
  ])('$name', ({ text, expected }) => {
    expect(urlsIn(text)).toEqual(expected);
  });
});
