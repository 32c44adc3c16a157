import { describe, expect, it } from 'vitest';
import { DEFAULT_LINK_LABEL, renderLink } from './renderLink.js';

const render = (args: Record<string, unknown>) => renderLink(args, { maxTextChars: 4096 });
const url = 'https://shop.example.com/pay/123';
const cta = (body: string, label: string) => ({
  type: 'interactive',
  interactive: { type: 'cta_url', body: { text: body }, action: { name: 'cta_url', parameters: { display_text: label, url } } },
});

describe('renderLink', () => {
  it('renders a call-to-action URL button', () => {
    expect(render({ text: 'Pay **here**', url, label: 'Pay now' })).toEqual({ messages: [cta('Pay *here*', 'Pay now')], problems: [] });
  });

  it('accepts an http URL (the user opens it, not Meta)', () => {
    expect(render({ text: 'Site', url: 'http://example.com', label: 'Open' }).problems).toEqual([]);
  });

  it.each([
    { length: 19, label: 'l'.repeat(19) },
    { length: 20, label: 'l'.repeat(20) },
    { length: 21, label: `${'l'.repeat(19)}…` },
  ])('label of $length → $label', ({ length, label }) => {
    expect(render({ text: 'Pay', url, label: 'l'.repeat(length) }).messages).toEqual([cta('Pay', label)]);
  });

  it('keeps a body of 1024 and shortens one of 1025', () => {
    expect(render({ text: 'b'.repeat(1024), url, label: 'Go' }).messages).toEqual([cta('b'.repeat(1024), 'Go')]);
    expect(render({ text: 'b'.repeat(1025), url, label: 'Go' }).messages).toEqual([cta(`${'b'.repeat(1023)}…`, 'Go')]);
  });

  it.each(['#', '<br>', '```'])('a body the Markdown conversion empties (%j) goes as written, never empty', (text) => {
    expect(render({ text, url, label: 'Go' }).messages).toEqual([cta(text, 'Go')]);
  });

  it('uses a default label when none is given, and says so', () => {
    expect(render({ text: 'Pay', url })).toEqual({ messages: [cta('Pay', DEFAULT_LINK_LABEL)], problems: ['label is missing'] });
  });

  it.each([
    { name: 'no text: label and link as text', args: { url, label: 'Pay' }, body: `Pay: ${url}`, problems: ['text is missing'] },
    {
      name: 'a javascript: URL: only the text',
      args: { text: 'Pay', url: 'javascript:alert(1)', label: 'Pay' },
      body: 'Pay',
      problems: ['url is not an http(s) URL'],
    },
    { name: 'no URL: only the text', args: { text: 'Pay', label: 'Pay' }, body: 'Pay', problems: ['url is missing'] },
  ])('$name', ({ args, body, problems }) => {
    expect(render(args)).toEqual({
      messages: [{ type: 'text', text: { body, preview_url: body.includes('https://') } }],
      problems,
    });
  });
});
