import { describe, expect, it } from 'vitest';
import { makeOptionIds } from './makeOptionIds.js';

describe('makeOptionIds', () => {
  it.each([
    { name: 'ids from titles', options: [{ title: 'Large pizza' }, { title: 'Small' }], expected: ['large-pizza', 'small'] },
    { name: 'accents and symbols', options: [{ title: 'Café & Crème!' }, { title: '  Sí, señor ' }], expected: ['cafe-creme', 'si-senor'] },
    { name: 'no Latin letters: by position', options: [{ title: 'Yes' }, { title: '是的' }, { title: '👍' }], expected: ['yes', 'option-2', 'option-3'] },
    { name: 'given ids are kept, trimmed', options: [{ id: ' confirm-booking ', title: 'Confirm' }, { id: 'x', title: 'X' }], expected: ['confirm-booking', 'x'] },
    { name: 'repeated titles', options: [{ title: 'Yes' }, { title: 'yes' }, { title: 'YES!' }], expected: ['yes', 'yes-2', 'yes-3'] },
    { name: 'given id equal to a generated one', options: [{ title: 'Yes' }, { id: 'yes', title: 'Sure' }], expected: ['yes', 'yes-2'] },
    { name: 'blank given id: from the title', options: [{ id: '  ', title: 'Later' }], expected: ['later'] },
    { name: 'long titles give ids of at most 40', options: [{ title: 'a'.repeat(60) }], expected: ['a'.repeat(40)] },
  ])('$name', ({ options, expected }) => {
    expect(makeOptionIds(options, 200)).toEqual(expected);
  });

  it('fits a given id to the limit, keeping ids unique', () => {
    const long = 'k'.repeat(300);
    const ids = makeOptionIds([{ id: long, title: 'a' }, { id: long, title: 'b' }], 200);
    expect(ids[0]).toHaveLength(200);
    expect(ids[1]).toHaveLength(200);
    expect(ids[1]!.endsWith('-2')).toBe(true);
    expect(new Set(ids).size).toBe(2);
  });

  it('is stable: the same options always give the same ids', () => {
    const options = [{ title: 'Mon' }, { title: 'Tue' }, { id: 'w', title: 'Wed' }, { title: 'Mon' }];
    expect(makeOptionIds(options, 256)).toEqual(makeOptionIds(structuredClone(options), 256));
  });
});
