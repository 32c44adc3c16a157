import { describe, expect, it } from 'vitest';
import { shortenText } from './shortenText.js';

const graphemes = (text: string) => [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)].map((s) => s.segment);

describe('shortenText', () => {
  it.each([
    { name: 'shorter than the limit', text: 'Yes', max: 20, expected: 'Yes' },
    { name: 'exactly the limit', text: 'a'.repeat(20), max: 20, expected: 'a'.repeat(20) },
    { name: 'one over the limit', text: 'a'.repeat(21), max: 20, expected: `${'a'.repeat(19)}…` },
    { name: 'far over the limit', text: 'Confirm my booking for tomorrow please', max: 20, expected: 'Confirm my booking…' },
    { name: 'space before the cut is dropped', text: 'abcdefghijklmnopqr tuvwxyz', max: 20, expected: 'abcdefghijklmnopqr…' },
    { name: 'empty', text: '', max: 20, expected: '' },
    // 👍🏽 is 4 code units: 17 + 4 would pass 19, so it goes whole.
    { name: 'emoji with skin tone at the cut', text: `${'a'.repeat(17)}👍🏽bc`, max: 20, expected: `${'a'.repeat(17)}…` },
    { name: 'flag at the cut', text: `${'a'.repeat(16)}🇦🇷🇦🇷`, max: 20, expected: `${'a'.repeat(16)}…` },
    { name: 'ZWJ family at the cut', text: `${'a'.repeat(10)}👨‍👩‍👧‍👦 end`, max: 20, expected: `${'a'.repeat(10)}…` },
    { name: 'combining accent stays with its letter', text: `${'a'.repeat(18)}e\u0301e\u0301`, max: 20, expected: `${'a'.repeat(18)}…` },
    { name: 'emoji counted in code units', text: '😀'.repeat(10), max: 20, expected: '😀'.repeat(10) },
    { name: 'emoji one unit over', text: `${'😀'.repeat(10)}a`, max: 20, expected: `${'😀'.repeat(9)}…` },
  ])('$name', ({ text, max, expected }) => {
    const short = shortenText(text, max);
    expect(short).toBe(expected);
    expect(short.length).toBeLessThanOrEqual(max);
  });

  it('always cuts on a grapheme boundary of the original', () => {
    const text = 'Ñandú 👩🏽‍💻 café 🇧🇷 naïve ✔️ 日本語 — 👨‍👩‍👧 end';
    for (let max = 2; max <= text.length; max += 1) {
      const short = shortenText(text, max);
      expect(short.length).toBeLessThanOrEqual(max);
      const kept = short.endsWith('…') && short !== text ? short.slice(0, -1) : short;
      const original = graphemes(text);
      const shortened = graphemes(kept);
      expect(original.slice(0, shortened.length).join('').trimEnd()).toBe(kept);
    }
  });
});
