import { describe, expect, it } from 'vitest';
import { renderReply } from './renderReply.js';

const options = { maxTextChars: 4096 };
const text = (body: string) => ({ kind: 'message', message: { type: 'text', text: { body, preview_url: false } } });

describe('renderReply', () => {
  it('keeps the order of the turn: text, buttons, text, location', () => {
    const { chunks, problems } = renderReply(
      [
        { kind: 'text', text: 'Here is **our** shop.' },
        { kind: 'tool_call', name: 'whatsapp_buttons', args: { text: 'Visit?', options: ['Yes', 'No'] } },
        { kind: 'text', text: 'Or come by:' },
        { kind: 'tool_call', name: 'whatsapp_location', args: { latitude: 1.5, longitude: 2.5 } },
      ],
      options,
    );
    expect(problems).toEqual([]);
    expect(chunks.map((chunk) => (chunk.kind === 'message' ? chunk.message.type : chunk.kind))).toEqual([
      'text',
      'interactive',
      'text',
      'location',
    ]);
    expect(chunks[0]).toEqual(text('Here is *our* shop.'));
  });

  it('splits long text into several chunks', () => {
    const paragraph = 'word '.repeat(30).trim();
    const { chunks } = renderReply([{ kind: 'text', text: `${paragraph}\n\n${paragraph}` }], { maxTextChars: 200 });
    expect(chunks).toEqual([text(paragraph), text(paragraph)]);
  });

  it('ignores the agent’s own tools', () => {
    const { chunks, problems } = renderReply(
      [
        { kind: 'tool_call', name: 'get_weather', args: { city: 'Lisbon' } },
        { kind: 'tool_call', name: 'transfer_to_agent', args: { agent_name: 'billing' } },
        { kind: 'tool_call', name: 'toString', args: {} },
        { kind: 'text', text: 'Sunny.' },
      ],
      options,
    );
    expect(chunks).toEqual([text('Sunny.')]);
    expect(problems).toEqual([]);
  });

  it('puts one hand-off after everything else, with its reason', () => {
    const { chunks } = renderReply(
      [
        { kind: 'text', text: 'Let me get a colleague.' },
        { kind: 'tool_call', name: 'handoff_to_human', args: { reason: ' refund over limit ' } },
        { kind: 'text', text: 'They will write soon.' },
        { kind: 'tool_call', name: 'handoff_to_human', args: {} },
      ],
      options,
    );
    expect(chunks).toEqual([
      text('Let me get a colleague.'),
      text('They will write soon.'),
      { kind: 'handoff', reason: 'refund over limit' },
    ]);
  });

  it('a hand-off without a reason', () => {
    expect(renderReply([{ kind: 'tool_call', name: 'handoff_to_human', args: { reason: 42 } }], options).chunks).toEqual([
      { kind: 'handoff' },
    ]);
  });

  it('reports each malformed call with its tool and still sends what it can', () => {
    const { chunks, problems } = renderReply(
      [
        { kind: 'tool_call', name: 'whatsapp_buttons', args: { text: 'Agree?' } },
        { kind: 'tool_call', name: 'whatsapp_location', args: { latitude: 'x', longitude: 0 } },
        { kind: 'tool_call', name: 'whatsapp_media', args: { url: 'http://a.test/x.png', type: 'image' } },
        { kind: 'text', text: 'Anyway, thanks!' },
      ],
      options,
    );
    expect(chunks).toEqual([text('Agree?'), text('Anyway, thanks!')]);
    expect(problems).toEqual([
      { tool: 'whatsapp_buttons', problems: ['options is missing'] },
      { tool: 'whatsapp_location', problems: ['latitude is not a number'] },
      { tool: 'whatsapp_media', problems: ['url is not an https URL'] },
    ]);
  });

  it('nothing to send', () => {
    expect(renderReply([], options)).toEqual({ chunks: [], problems: [] });
  });
});
