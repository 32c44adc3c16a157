import { describe, expect, it } from 'vitest';
import { makeTitlesUnique } from './makeTitlesUnique.js';

describe('makeTitlesUnique', () => {
  it.each([
    { name: 'distinct titles are kept', titles: ['Yes', 'No'], max: 20, expected: ['Yes', 'No'] },
    { name: 'a repeat gets (2)', titles: ['Yes', 'Yes'], max: 20, expected: ['Yes', 'Yes (2)'] },
    { name: 'repeats ignore case and spaces', titles: ['Yes', 'yes ', 'YES'], max: 20, expected: ['Yes', 'yes (2)', 'YES (3)'] },
    {
      name: 'titles equal only after shortening',
      titles: ['Appointment on Monday morning', 'Appointment on Monday evening'],
      max: 20,
      expected: ['Appointment on Mond…', 'Appointment on… (2)'],
    },
    {
      name: 'long titles are shortened to the limit',
      titles: ['A very long option title indeed'],
      max: 24,
      expected: ['A very long option titl…'],
    },
    {
      name: 'a suffix that collides with a real title moves on',
      titles: ['Yes (2)', 'Yes', 'Yes'],
      max: 20,
      expected: ['Yes (2)', 'Yes', 'Yes (3)'],
    },
  ])('$name', ({ titles, max, expected }) => {
    const unique = makeTitlesUnique(titles, max);
    expect(unique).toEqual(expected);
    expect(new Set(unique.map((t) => t.trim().toLowerCase())).size).toBe(titles.length);
    for (const title of unique) expect(title.length).toBeLessThanOrEqual(max);
  });

  it('stays unique and within the limit for ten identical long titles', () => {
    const unique = makeTitlesUnique(Array(10).fill('x'.repeat(40)), 20);
    expect(new Set(unique).size).toBe(10);
    for (const title of unique) expect(title.length).toBeLessThanOrEqual(20);
    expect(unique[9]).toBe(`${'x'.repeat(14)}… (10)`);
  });
});
