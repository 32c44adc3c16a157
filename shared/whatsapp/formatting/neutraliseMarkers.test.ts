import { describe, expect, it } from 'vitest';
import { neutraliseMarkers } from './neutraliseMarkers.js';

const J = '\u2060';

describe('neutraliseMarkers', () => {
  it.each([
    { name: 'text without markers is untouched', text: 'Hola, ¿qué tal? 👋', expected: 'Hola, ¿qué tal? 👋' },
    { name: 'arithmetic', text: '2*3*4', expected: `2${J}*${J}3${J}*${J}4` },
    { name: 'identifiers', text: 'snake_case_names', expected: `snake${J}_${J}case${J}_${J}names` },
    { name: 'home paths', text: '~/path~', expected: `${J}~${J}/path${J}~${J}` },
    { name: 'stray backticks', text: 'a`b`c', expected: `a${J}\`${J}b${J}\`${J}c` },
    { name: 'a run of markers is joined inside too', text: 'x**y', expected: `x${J}*${J}*${J}y` },
    { name: 'a marker spaced on both sides cannot pair', text: '5 * 3 = 15 and a _ b', expected: '5 * 3 = 15 and a _ b' },
    { name: 'a spaced run can still act on itself', text: 'a ``` b ** c', expected: `a ${J}\`${J}\`${J}\`${J} b ${J}*${J}*${J} c` },
    { name: 'a marker at the fragment edge might pair with a neighbour', text: '* start', expected: `${J}*${J} start` },
    { name: 'empty', text: '', expected: '' },
  ])('$name', ({ text, expected }) => {
    expect(neutraliseMarkers(text)).toBe(expected);
  });
});
