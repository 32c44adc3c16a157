import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { messageViolations } from '../../../local/sandbox/graphMessageRules.js';
import { outboundMessageSchema } from '../outboundMessage.js';
import { renderReply } from './renderReply.js';

// Titles that shorten to the same text, emoji and accents at every cut, blanks and junk.
const word = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 90 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
  fc.constantFrom('Yes', 'yes', ' Yes ', 'x'.repeat(40), `${'x'.repeat(19)}👍🏽`, '🇦🇷🇧🇷🇨🇱', 'e\u0301'.repeat(30), '', '   '),
  fc.string({ unit: 'grapheme', minLength: 1000, maxLength: 1100 }),
);
const junk = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }), fc.object({ maxDepth: 1 }));
const option = fc.oneof(
  word,
  fc.record({ id: fc.option(fc.oneof(word, fc.integer()), { nil: undefined }), title: word, description: fc.option(word, { nil: undefined }) }, { requiredKeys: ['title'] }),
  junk,
);
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(fc.oneof(arbitrary, junk), { nil: undefined, freq: 2 });
const url = fc.oneof(fc.webUrl(), fc.constantFrom('https://x.test/a.png', 'http://x.test', 'javascript:alert(1)', 'file:///etc/passwd', ''), word);

const buttonsCall = fc.record({
  text: maybe(word),
  options: fc.oneof(fc.array(option, { maxLength: 14 }), junk, fc.constant(undefined)),
  button: maybe(word),
  header: maybe(word),
  footer: maybe(word),
});
const mediaCall = fc.record({
  url: maybe(url),
  type: maybe(fc.constantFrom('image', 'document', 'audio', 'video', 'sticker', 'gif')),
  caption: maybe(word),
  filename: maybe(word),
});
const locationCall = fc.record({
  latitude: maybe(fc.oneof(fc.double(), fc.double({ min: -90, max: 90, noNaN: true }).map(String))),
  longitude: maybe(fc.double({ min: -200, max: 200 })),
  name: maybe(word),
  address: maybe(word),
});
const linkCall = fc.record({ text: maybe(word), url: maybe(url), label: maybe(word) });
const toolCall = fc.oneof(
  buttonsCall.map((args) => ({ kind: 'tool_call' as const, name: 'whatsapp_buttons', args })),
  mediaCall.map((args) => ({ kind: 'tool_call' as const, name: 'whatsapp_media', args })),
  locationCall.map((args) => ({ kind: 'tool_call' as const, name: 'whatsapp_location', args })),
  linkCall.map((args) => ({ kind: 'tool_call' as const, name: 'whatsapp_link', args })),
  fc.record({ kind: fc.constant('text' as const), text: word }),
);

/**
 * Whatever the agent calls the tools with, every message the bridge renders is one the Graph API
 * accepts: counts, lengths, unique ids and titles, https media, valid coordinates.
 */
describe('rendered messages against the Graph API rules', () => {
  it('every rendered message is valid and fits the stored schema', () => {
    fc.assert(
      fc.property(fc.array(toolCall, { minLength: 1, maxLength: 4 }), (parts) => {
        const { chunks } = renderReply(parts, { maxTextChars: 4096 });
        for (const chunk of chunks) {
          if (chunk.kind !== 'message') continue;
          const { message } = chunk;
          expect(outboundMessageSchema.parse(message)).toEqual(message);
          const content = (message as Record<string, unknown>)[message.type] as Record<string, unknown>;
          expect(messageViolations(message.type, content)).toEqual([]);
          if (message.type === 'text') {
            expect(message.text.body.trim()).not.toBe('');
            expect(message.text.body.length).toBeLessThanOrEqual(4096);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a call with 1–10 readable options always becomes one interactive message with every option', () => {
    const title = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter((t) => t.trim() !== '');
    fc.assert(
      fc.property(fc.array(title, { minLength: 1, maxLength: 10 }), title, (options, text) => {
        const { chunks, problems } = renderReply([{ kind: 'tool_call', name: 'whatsapp_buttons', args: { text, options } }], {
          maxTextChars: 4096,
        });
        expect(problems).toEqual([]);
        expect(chunks).toHaveLength(1);
        const message = chunks[0]?.kind === 'message' ? chunks[0].message : undefined;
        if (message?.type !== 'interactive') throw new Error('expected an interactive message');
        const count =
          message.interactive.type === 'button'
            ? message.interactive.action.buttons.length
            : message.interactive.type === 'list'
              ? message.interactive.action.sections.flatMap((section) => section.rows).length
              : 0;
        expect(count).toBe(options.length);
      }),
      { numRuns: 500 },
    );
  });
});
