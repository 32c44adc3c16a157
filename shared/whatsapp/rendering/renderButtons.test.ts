import { describe, expect, it } from 'vitest';
import type { OutboundMessage } from '../outboundMessage.js';
import { DEFAULT_LIST_BUTTON_LABEL, renderButtons } from './renderButtons.js';

const options = { maxTextChars: 4096 };
const render = (args: Record<string, unknown>) => renderButtons(args, options);
const names = (count: number) => Array.from({ length: count }, (_, index) => `Option ${index + 1}`);
const interactiveOf = (messages: OutboundMessage[]) => {
  expect(messages).toHaveLength(1);
  const [message] = messages;
  if (message?.type !== 'interactive') throw new Error(`expected an interactive message, got ${message?.type}`);
  return message.interactive;
};
const textOf = (messages: OutboundMessage[]) =>
  messages.map((message) => (message.type === 'text' ? message.text.body : `<${message.type}>`)).join('\n---\n');

describe('renderButtons: how many options make which message', () => {
  it.each([
    { count: 1, kind: 'button' },
    { count: 2, kind: 'button' },
    { count: 3, kind: 'button' },
    { count: 4, kind: 'list' },
    { count: 10, kind: 'list' },
    { count: 11, kind: 'text' },
    { count: 25, kind: 'text' },
  ])('$count options → $kind', ({ count, kind }) => {
    const { messages, problems } = render({ text: 'Pick one', options: names(count) });
    expect(problems).toEqual([]);
    if (kind === 'text') {
      const text = textOf(messages);
      expect(text.startsWith('Pick one\n\n1. Option 1\n2. Option 2')).toBe(true);
      for (const name of names(count)) expect(text).toContain(name);
      return;
    }
    const interactive = interactiveOf(messages);
    expect(interactive.type).toBe(kind);
    if (interactive.type === 'button') expect(interactive.action.buttons).toHaveLength(count);
    if (interactive.type === 'list') expect(interactive.action.sections[0]?.rows).toHaveLength(count);
  });

  it.each(['#', '<br>', '```'])('a body the Markdown conversion empties (%j) goes as written, never empty', (text) => {
    expect(interactiveOf(render({ text, options: ['!'] }).messages).body).toEqual({ text });
    expect(interactiveOf(render({ text, options: names(5) }).messages).body).toEqual({ text });
  });

  it('renders reply buttons exactly as the Graph API takes them', () => {
    const { messages } = render({
      text: 'Shall I **book** it?',
      options: [{ id: 'confirm-booking', title: 'Confirm' }, 'Cancel'],
      header: 'Booking',
      footer: 'Reply within 24 h',
    });
    expect(messages).toEqual([
      {
        type: 'interactive',
        interactive: {
          type: 'button',
          header: { type: 'text', text: 'Booking' },
          body: { text: 'Shall I *book* it?' },
          footer: { text: 'Reply within 24 h' },
          action: {
            buttons: [
              { type: 'reply', reply: { id: 'confirm-booking', title: 'Confirm' } },
              { type: 'reply', reply: { id: 'cancel', title: 'Cancel' } },
            ],
          },
        },
      },
    ]);
  });

  it('renders a list with its label, rows and descriptions', () => {
    const { messages } = render({
      text: 'Which day?',
      button: 'See days',
      options: [
        { title: 'Monday', description: 'From 9:00' },
        { title: 'Tuesday', id: 'tue' },
        'Wednesday',
        { title: 'Thursday', description: 'Afternoon only' },
      ],
    });
    expect(interactiveOf(messages)).toEqual({
      type: 'list',
      body: { text: 'Which day?' },
      action: {
        button: 'See days',
        sections: [
          {
            rows: [
              { id: 'monday', title: 'Monday', description: 'From 9:00' },
              { id: 'tue', title: 'Tuesday' },
              { id: 'wednesday', title: 'Wednesday' },
              { id: 'thursday', title: 'Thursday', description: 'Afternoon only' },
            ],
          },
        ],
      },
    });
  });

  it('labels a list with the default when no button label is given', () => {
    const interactive = interactiveOf(render({ text: 'Pick', options: names(5) }).messages);
    expect(interactive.type === 'list' && interactive.action.button).toBe(DEFAULT_LIST_BUTTON_LABEL);
  });

  it('names every option and its description in the numbered text, with header and footer', () => {
    const many = names(11).map((title, index) => (index === 0 ? { title, description: 'the first' } : title));
    const text = textOf(render({ text: 'All of them:', options: many, header: 'Menu', footer: 'Type a number' }).messages);
    expect(text).toBe(
      ['Menu', 'All of them:', names(11).map((n, i) => `${i + 1}. ${n}${i === 0 ? ' — the first' : ''}`).join('\n'), 'Type a number'].join('\n\n'),
    );
  });
});

describe('renderButtons: limits, shortened on a grapheme boundary with an ellipsis', () => {
  const x = (length: number) => 'x'.repeat(length);
  const cut = (length: number) => `${'x'.repeat(length - 1)}…`;
  const buttons = (args: Record<string, unknown>) => {
    const interactive = interactiveOf(render({ text: 'Pick', options: ['a'], ...args }).messages);
    if (interactive.type !== 'button') throw new Error('expected buttons');
    return interactive;
  };
  const list = (args: Record<string, unknown>) => {
    const interactive = interactiveOf(render({ text: 'Pick', options: names(4), ...args }).messages);
    if (interactive.type !== 'list') throw new Error('expected a list');
    return interactive;
  };

  it.each([
    { field: 'button title', limit: 20, read: (v: string) => buttons({ options: [v] }).action.buttons[0]?.reply.title },
    { field: 'row title', limit: 24, read: (v: string) => list({ options: [v, ...names(3)] }).action.sections[0]?.rows[0]?.title },
    {
      field: 'row description',
      limit: 72,
      read: (v: string) => list({ options: [{ title: 'a', description: v }, ...names(3)] }).action.sections[0]?.rows[0]?.description,
    },
    { field: 'list label', limit: 20, read: (v: string) => list({ button: v }).action.button },
    { field: 'button body', limit: 1024, read: (v: string) => buttons({ text: v }).body.text },
    { field: 'list body', limit: 1024, read: (v: string) => list({ text: v }).body.text },
    { field: 'button header', limit: 60, read: (v: string) => buttons({ header: v }).header?.text },
    { field: 'list header', limit: 60, read: (v: string) => list({ header: v }).header?.text },
    { field: 'button footer', limit: 60, read: (v: string) => buttons({ footer: v }).footer?.text },
    { field: 'list footer', limit: 60, read: (v: string) => list({ footer: v }).footer?.text },
  ])('$field: $limit kept, $limit + 1 shortened', ({ limit, read }) => {
    expect(read(x(limit - 1))).toBe(x(limit - 1));
    expect(read(x(limit))).toBe(x(limit));
    expect(read(x(limit + 1))).toBe(cut(limit));
    expect(read(x(limit * 3))).toBe(cut(limit));
  });

  it('never splits an emoji at the button-title limit', () => {
    const title = buttons({ options: [`${x(18)}👍🏽`] }).action.buttons[0]?.reply.title;
    expect(title).toBe(`${x(18)}…`);
  });

  it('makes titles unique when shortening makes them equal', () => {
    const titles = buttons({ options: [`${x(25)}A`, `${x(25)}B`, `${x(25)}C`] }).action.buttons.map((b) => b.reply.title);
    expect(titles).toEqual([cut(20), `${x(15)}… (2)`, `${x(15)}… (3)`]);
  });

  it('makes repeated titles and ids unique', () => {
    const rows = list({ options: ['Same', 'Same', 'same', 'Other'] }).action.sections[0]?.rows;
    expect(rows?.map((row) => [row.id, row.title])).toEqual([
      ['same', 'Same'],
      ['same-2', 'Same (2)'],
      ['same-3', 'same (3)'],
      ['other', 'Other'],
    ]);
  });
});

describe('renderButtons: malformed calls become text and are reported', () => {
  it.each([
    {
      name: 'no text: the options as a numbered text',
      args: { options: ['Yes', 'No'] },
      text: '1. Yes\n2. No',
      problems: ['text is missing'],
    },
    { name: 'blank text', args: { text: '   ', options: ['Yes'] }, text: '1. Yes', problems: ['text is empty'] },
    { name: 'no options: only the text', args: { text: 'Do you agree?' }, text: 'Do you agree?', problems: ['options is missing'] },
    { name: 'empty options', args: { text: 'Agree?', options: [] }, text: 'Agree?', problems: ['options is empty'] },
    { name: 'options not a list', args: { text: 'Agree?', options: 'Yes, No' }, text: 'Agree?', problems: ['options is not a list'] },
    { name: 'nothing at all', args: {}, text: '', problems: ['text is missing', 'options is missing'] },
    {
      name: 'unreadable options are dropped, the rest rendered',
      args: { text: 'Pick', options: [{ id: 'x' }, null, 'Good', { title: '' }] },
      kind: 'button',
      problems: [
        'options[0] is neither a text nor {id?, title, description?}',
        'options[1] is neither a text nor {id?, title, description?}',
        'options[3] is neither a text nor {id?, title, description?}',
      ],
    },
    {
      name: 'numbers as titles and ids are read as text',
      args: { text: 'How many?', options: [1, { id: 2, title: 2 }] },
      kind: 'button',
      problems: [],
    },
    {
      name: 'a header that is not text is left out',
      args: { text: 'Pick', options: ['a'], header: { text: 'H' } },
      kind: 'button',
      problems: ['header Invalid input: expected string, received object'],
    },
  ])('$name', ({ args, text, kind, problems }) => {
    const rendered = render(args);
    expect(rendered.problems).toEqual(problems);
    if (kind) expect(interactiveOf(rendered.messages).type).toBe(kind);
    else expect(textOf(rendered.messages)).toBe(text);
  });

  it('reads numeric titles and ids as text', () => {
    const interactive = interactiveOf(render({ text: 'How many?', options: [1, { id: 2, title: 2 }] }).messages);
    expect(interactive.type === 'button' && interactive.action.buttons.map((b) => b.reply)).toEqual([
      { id: '1', title: '1' },
      { id: '2', title: '2' },
    ]);
  });
});
