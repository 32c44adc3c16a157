import { describe, expect, it } from 'vitest';
import { messageViolations } from './graphMessageRules.js';

const button = (id: string, title: string) => ({ type: 'reply', reply: { id, title } });
const buttons = (list: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'button',
  body: { text: 'Pick' },
  action: { buttons: list },
  ...extra,
});
const rows = (count: number) => Array.from({ length: count }, (_, i) => ({ id: `r${i}`, title: `Row ${i}` }));
const list = (sections: unknown[], extra: Record<string, unknown> = {}) => ({
  type: 'list',
  body: { text: 'Pick' },
  action: { button: 'Choose', sections },
  ...extra,
});

/** The sandbox's reading of Meta's rules, checked on both sides of every limit. */
describe('messageViolations', () => {
  it.each([
    { name: 'one button', content: buttons([button('a', 'A')]), valid: true },
    { name: 'three buttons', content: buttons([button('a', 'A'), button('b', 'B'), button('c', 'C')]), valid: true },
    { name: 'no buttons', content: buttons([]), valid: false },
    { name: 'four buttons', content: buttons([button('a', 'A'), button('b', 'B'), button('c', 'C'), button('d', 'D')]), valid: false },
    { name: 'button title of 20', content: buttons([button('a', 't'.repeat(20))]), valid: true },
    { name: 'button title of 21', content: buttons([button('a', 't'.repeat(21))]), valid: false },
    { name: 'button id of 256', content: buttons([button('i'.repeat(256), 'A')]), valid: true },
    { name: 'button id of 257', content: buttons([button('i'.repeat(257), 'A')]), valid: false },
    { name: 'repeated button ids', content: buttons([button('a', 'A'), button('a', 'B')]), valid: false },
    { name: 'repeated button titles', content: buttons([button('a', 'A'), button('b', 'A')]), valid: false },
    { name: 'empty button title', content: buttons([button('a', ' ')]), valid: false },
    { name: 'body of 1024', content: buttons([button('a', 'A')], { body: { text: 'b'.repeat(1024) } }), valid: true },
    { name: 'body of 1025', content: buttons([button('a', 'A')], { body: { text: 'b'.repeat(1025) } }), valid: false },
    { name: 'no body', content: buttons([button('a', 'A')], { body: undefined }), valid: false },
    { name: 'header of 60', content: buttons([button('a', 'A')], { header: { type: 'text', text: 'h'.repeat(60) } }), valid: true },
    { name: 'header of 61', content: buttons([button('a', 'A')], { header: { type: 'text', text: 'h'.repeat(61) } }), valid: false },
    { name: 'footer of 60', content: buttons([button('a', 'A')], { footer: { text: 'f'.repeat(60) } }), valid: true },
    { name: 'footer of 61', content: buttons([button('a', 'A')], { footer: { text: 'f'.repeat(61) } }), valid: false },
    { name: 'list of 1 row', content: list([{ rows: rows(1) }]), valid: true },
    { name: 'list of 10 rows', content: list([{ rows: rows(10) }]), valid: true },
    { name: 'list of 11 rows', content: list([{ rows: rows(11) }]), valid: false },
    { name: 'list of 11 rows over two sections', content: list([{ title: 'A', rows: rows(6) }, { title: 'B', rows: rows(5).map((r) => ({ ...r, id: `${r.id}b` })) }]), valid: false },
    { name: 'two sections without titles', content: list([{ rows: rows(1) }, { rows: [{ id: 'x', title: 'X' }] }]), valid: false },
    { name: 'list label of 20', content: list([{ rows: rows(1) }], { action: { button: 'l'.repeat(20), sections: [{ rows: rows(1) }] } }), valid: true },
    { name: 'list label of 21', content: list([{ rows: rows(1) }], { action: { button: 'l'.repeat(21), sections: [{ rows: rows(1) }] } }), valid: false },
    { name: 'row title of 24', content: list([{ rows: [{ id: 'a', title: 't'.repeat(24) }] }]), valid: true },
    { name: 'row title of 25', content: list([{ rows: [{ id: 'a', title: 't'.repeat(25) }] }]), valid: false },
    { name: 'row description of 72', content: list([{ rows: [{ id: 'a', title: 'A', description: 'd'.repeat(72) }] }]), valid: true },
    { name: 'row description of 73', content: list([{ rows: [{ id: 'a', title: 'A', description: 'd'.repeat(73) }] }]), valid: false },
    { name: 'row id of 200', content: list([{ rows: [{ id: 'i'.repeat(200), title: 'A' }] }]), valid: true },
    { name: 'row id of 201', content: list([{ rows: [{ id: 'i'.repeat(201), title: 'A' }] }]), valid: false },
    { name: 'repeated row ids', content: list([{ rows: [{ id: 'a', title: 'A' }, { id: 'a', title: 'B' }] }]), valid: false },
    {
      name: 'cta_url',
      content: { type: 'cta_url', body: { text: 'Pay' }, action: { name: 'cta_url', parameters: { display_text: 'Pay', url: 'https://x.test' } } },
      valid: true,
    },
    {
      name: 'cta_url label of 21',
      content: { type: 'cta_url', body: { text: 'Pay' }, action: { name: 'cta_url', parameters: { display_text: 'p'.repeat(21), url: 'https://x.test' } } },
      valid: false,
    },
    {
      name: 'cta_url without a web URL',
      content: { type: 'cta_url', body: { text: 'Pay' }, action: { name: 'cta_url', parameters: { display_text: 'Pay', url: 'javascript:1' } } },
      valid: false,
    },
    { name: 'an unknown interactive type', content: { type: 'carousel', body: { text: 'x' }, action: {} }, valid: false },
  ])('interactive: $name', ({ content, valid }) => {
    const violations = messageViolations('interactive', content);
    if (valid) expect(violations).toEqual([]);
    else expect(violations).not.toEqual([]);
  });

  it.each([
    { type: 'image', content: { link: 'https://x.test/a.png', caption: 'c'.repeat(1024) }, valid: true },
    { type: 'image', content: { link: 'https://x.test/a.png', caption: 'c'.repeat(1025) }, valid: false },
    { type: 'image', content: { link: 'http://x.test/a.png' }, valid: false },
    { type: 'image', content: { id: '1234' }, valid: true },
    { type: 'document', content: { link: 'https://x.test/a.pdf', filename: 'a.pdf' }, valid: true },
    { type: 'image', content: { link: 'https://x.test/a.png', filename: 'a.png' }, valid: false },
    { type: 'audio', content: { link: 'https://x.test/a.ogg', caption: 'no' }, valid: false },
    { type: 'sticker', content: { link: 'https://x.test/a.webp' }, valid: true },
    { type: 'location', content: { latitude: 90, longitude: -180 }, valid: true },
    { type: 'location', content: { latitude: 90.1, longitude: 0 }, valid: false },
    { type: 'location', content: { latitude: 0, longitude: '1' }, valid: false },
    { type: 'text', content: { body: 'anything' }, valid: true },
  ])('$type $content', ({ type, content, valid }) => {
    expect(messageViolations(type, content).length === 0).toBe(valid);
  });
});
