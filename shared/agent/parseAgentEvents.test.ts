import { describe, expect, it } from 'vitest';
import { parseAgentEvents, type AgentEvents } from './parseAgentEvents.js';

const actions = { state_delta: {}, artifact_delta: {}, requested_auth_configs: {}, requested_tool_confirmations: {} };

const toolCall = {
  content: {
    parts: [{ function_call: { id: 'adk-7f1c', args: { city: 'Lisbon' }, name: 'get_weather' } }],
    role: 'model',
  },
  invocation_id: 'e-41b5',
  author: 'weather_agent',
  actions,
  long_running_tool_ids: [],
  id: 'Xk2p9QaA',
  timestamp: 1754550000.123,
};

const toolResult = {
  content: {
    parts: [{ function_response: { id: 'adk-7f1c', name: 'get_weather', response: { result: '21°C, sunny' } } }],
    role: 'user',
  },
  invocation_id: 'e-41b5',
  author: 'weather_agent',
  actions,
  id: 'Lm3q0RbB',
  timestamp: 1754550001.456,
};

const finalText = (text: string, author = 'weather_agent') => ({
  content: { parts: [{ text }], role: 'model' },
  usage_metadata: { candidates_token_count: 12, prompt_token_count: 210, total_token_count: 222 },
  invocation_id: 'e-41b5',
  author,
  actions,
  id: 'Nq4r1ScC',
  timestamp: 1754550002.789,
});

const line = (event: unknown) => `${JSON.stringify(event)}\n`;
const bytes = (text: string) => Buffer.from(text, 'utf8');

function parse(chunks: Uint8Array[]): AgentEvents {
  const parser = parseAgentEvents();
  for (const chunk of chunks) parser.push(chunk);
  return parser.finish();
}

/** Cuts `text` into byte chunks of `size`, ignoring character boundaries. */
function slice(text: string, size: number): Buffer[] {
  const all = bytes(text);
  const chunks: Buffer[] = [];
  for (let at = 0; at < all.length; at += size) chunks.push(all.subarray(at, at + size));
  return chunks;
}

describe('parseAgentEvents', () => {
  const cases: { name: string; chunks: Uint8Array[]; expected: Partial<AgentEvents> }[] = [
    {
      name: 'tool call, tool result, final text: only the text',
      chunks: [bytes(line(toolCall)), bytes(line(toolResult)), bytes(line(finalText('It is 21°C and sunny in Lisbon.')))],
      expected: { text: 'It is 21°C and sunny in Lisbon.', eventCount: 3 },
    },
    {
      name: 'all events in one chunk',
      chunks: [bytes(line(toolCall) + line(toolResult) + line(finalText('Sunny.')))],
      expected: { text: 'Sunny.', eventCount: 3 },
    },
    {
      name: 'multi-agent hand-off keeps every agent text, drops the transfer call',
      chunks: [
        bytes(line(finalText('Let me hand you to our billing specialist.', 'root_agent'))),
        bytes(
          line({
            ...toolCall,
            author: 'root_agent',
            content: { role: 'model', parts: [{ function_call: { name: 'transfer_to_agent', args: { agent_name: 'billing_agent' } } }] },
          }),
        ),
        bytes(
          line({
            ...toolResult,
            author: 'root_agent',
            content: { role: 'user', parts: [{ function_response: { name: 'transfer_to_agent', response: { result: null } } }] },
            actions: { ...actions, transfer_to_agent: 'billing_agent' },
          }),
        ),
        bytes(line(finalText('Your last invoice was €42.', 'billing_agent'))),
      ],
      expected: { text: 'Let me hand you to our billing specialist.\n\nYour last invoice was €42.' },
    },
    {
      name: 'SSE: data: prefix, partial chunks skipped, aggregated event kept',
      chunks: [
        bytes(`data: ${JSON.stringify({ ...finalText('Hel'), partial: true })}\n\n`),
        bytes(`data: ${JSON.stringify({ ...finalText('lo there'), partial: true })}\n\n`),
        bytes(`data: ${JSON.stringify(finalText('Hello there'))}\n\n`),
      ],
      expected: { text: 'Hello there', eventCount: 3 },
    },
    {
      name: 'CRLF line endings and blank lines',
      chunks: [bytes(`\r\n${JSON.stringify(toolCall)}\r\n\r\n${JSON.stringify(finalText('Done.'))}\r\n`)],
      expected: { text: 'Done.', eventCount: 2 },
    },
    {
      name: 'a line split across two chunks',
      chunks: (() => {
        const all = line(toolCall) + line(finalText('Split reply'));
        const cut = all.indexOf('Split') + 3;
        return [bytes(all.slice(0, cut)), bytes(all.slice(cut))];
      })(),
      expected: { text: 'Split reply', eventCount: 2 },
    },
    {
      name: 'UTF-8 multibyte characters split across chunks',
      chunks: slice(line(toolResult) + line(finalText('Olá! 你好 👋🏽 — ça va?')), 3),
      expected: { text: 'Olá! 你好 👋🏽 — ça va?', eventCount: 2 },
    },
    {
      name: 'last line without a trailing newline',
      chunks: [bytes(JSON.stringify(finalText('No newline')))],
      expected: { text: 'No newline' },
    },
    {
      name: 'user echo and thought parts are skipped',
      chunks: [
        bytes(line({ ...finalText('what is the weather?', 'user'), content: { role: 'user', parts: [{ text: 'what is the weather?' }] } })),
        bytes(
          line({
            ...finalText(''),
            content: { role: 'model', parts: [{ text: 'The user wants weather.', thought: true }, { text: 'Sunny.' }] },
          }),
        ),
      ],
      expected: { text: 'Sunny.' },
    },
    {
      name: 'text parts of one event are joined without a separator',
      chunks: [bytes(line({ ...finalText(''), content: { role: 'model', parts: [{ text: 'Hello, ' }, { text: 'world.' }] } }))],
      expected: { text: 'Hello, world.' },
    },
    {
      name: 'camelCase keys',
      chunks: [
        bytes(line({ author: 'a', content: { role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }] } })),
        bytes(line({ author: 'a', content: { role: 'user', parts: [{ functionResponse: { name: 'f', response: {} } }] } })),
        bytes(line({ author: 'a', invocationId: 'e-1', content: { role: 'model', parts: [{ text: 'camel' }] } })),
      ],
      expected: { text: 'camel' },
    },
    {
      name: 'non-JSON lines are ignored',
      chunks: [bytes(`event: message\n: keep-alive\nnot json\n{broken\n${line(finalText('Still here'))}`)],
      expected: { text: 'Still here', eventCount: 1 },
    },
    {
      name: 'nothing at all',
      chunks: [],
      expected: { text: '', eventCount: 0 },
    },
    {
      name: 'only tool events: empty text',
      chunks: [bytes(line(toolCall) + line(toolResult))],
      expected: { text: '', eventCount: 2 },
    },
    {
      name: 'ADK error event',
      chunks: [
        bytes(
          line({ author: 'weather_agent', invocation_id: 'e-1', error_code: 'SAFETY', error_message: 'Response blocked', actions }),
        ),
      ],
      expected: { text: '', error: { code: 'SAFETY', message: 'Response blocked' } },
    },
    {
      name: 'camelCase error event',
      chunks: [bytes(line({ author: 'a', errorCode: 'MAX_TOKENS', errorMessage: 'Too long' }))],
      expected: { error: { code: 'MAX_TOKENS', message: 'Too long' } },
    },
    {
      name: 'bare error line',
      chunks: [bytes(line({ code: 503, message: 'The model is overloaded.' }))],
      expected: { text: '', error: { code: '503', message: 'The model is overloaded.' } },
    },
    {
      name: 'error event alongside text keeps both',
      chunks: [bytes(line(finalText('Partial answer')) + line({ author: 'a', error_code: 'STOP' }))],
      expected: { text: 'Partial answer', error: { code: 'STOP', message: '' } },
    },
  ];

  it.each(cases)('$name', ({ chunks, expected }) => {
    expect(parse(chunks)).toMatchObject(expected);
  });

  it('reports no error when none was sent', () => {
    expect(parse([bytes(line(finalText('ok')))])).toEqual({ text: 'ok', parts: [{ kind: 'text', text: 'ok' }], eventCount: 1 });
  });

  it('gives the same result for every chunking of the same stream', () => {
    const stream = line(toolCall) + line(toolResult) + line(finalText('Ünïcødé ✓ 🎉'));
    for (const size of [1, 2, 5, 17, 64, 1024]) {
      expect(parse(slice(stream, size))).toEqual({
        text: 'Ünïcødé ✓ 🎉',
        parts: [
          { kind: 'tool_call', name: 'get_weather', args: { city: 'Lisbon' } },
          { kind: 'text', text: 'Ünïcødé ✓ 🎉' },
        ],
        eventCount: 3,
      });
    }
  });

  describe('parts in stream order', () => {
    const call = (name: string, args: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) => ({
      author: 'shop_agent',
      content: { role: 'model', parts: [{ function_call: { id: `adk-${name}`, name, ...(args ? { args } : {}) }, ...extra }] },
    });
    const buttons = { text: 'Which size?', options: ['S', 'M', 'L'] };
    const partCases: { name: string; stream: string; parts: AgentEvents['parts'] }[] = [
      {
        name: 'text, tool call, tool result, text: the call sits between the two texts',
        stream:
          line(finalText('Here are our sizes.', 'shop_agent')) +
          line(call('whatsapp_buttons', buttons)) +
          line({ ...toolResult, content: { role: 'user', parts: [{ function_response: { name: 'whatsapp_buttons', response: { result: 'shown' } } }] } }) +
          line(finalText('Tap one.', 'shop_agent')),
        parts: [
          { kind: 'text', text: 'Here are our sizes.' },
          { kind: 'tool_call', name: 'whatsapp_buttons', args: buttons },
          { kind: 'text', text: 'Tap one.' },
        ],
      },
      {
        name: 'text and a call in one event keep their order inside the event',
        stream: line({
          author: 'shop_agent',
          content: {
            role: 'model',
            parts: [
              { text: 'Our shop: ' },
              { text: 'come by.' },
              { function_call: { name: 'whatsapp_location', args: { latitude: 1, longitude: 2 } } },
              { text: 'Open 9–5.' },
            ],
          },
        }),
        parts: [
          { kind: 'text', text: 'Our shop: come by.' },
          { kind: 'tool_call', name: 'whatsapp_location', args: { latitude: 1, longitude: 2 } },
          { kind: 'text', text: 'Open 9–5.' },
        ],
      },
      {
        name: 'text from consecutive events stays one run, a blank line apart',
        stream: line(finalText('One.')) + line(finalText('Two.')) + line(call('handoff_to_human', { reason: 'refund' })),
        parts: [
          { kind: 'text', text: 'One.\n\nTwo.' },
          { kind: 'tool_call', name: 'handoff_to_human', args: { reason: 'refund' } },
        ],
      },
      {
        name: 'two calls in a row, the second without args',
        stream: line(call('whatsapp_link', { text: 'Pay', url: 'https://x.test', label: 'Pay' })) + line(call('handoff_to_human', undefined)),
        parts: [
          { kind: 'tool_call', name: 'whatsapp_link', args: { text: 'Pay', url: 'https://x.test', label: 'Pay' } },
          { kind: 'tool_call', name: 'handoff_to_human', args: {} },
        ],
      },
      {
        name: 'camelCase functionCall',
        stream: line({ author: 'a', content: { role: 'model', parts: [{ functionCall: { name: 'whatsapp_media', args: { url: 'https://x.test/a.png', type: 'image' } } }] } }),
        parts: [{ kind: 'tool_call', name: 'whatsapp_media', args: { url: 'https://x.test/a.png', type: 'image' } }],
      },
      {
        name: 'a partial event carrying a call is skipped; the aggregated one counts once',
        stream:
          `data: ${JSON.stringify({ ...call('whatsapp_buttons', buttons), partial: true })}\n\n` +
          `data: ${JSON.stringify(call('whatsapp_buttons', buttons))}\n\n`,
        parts: [{ kind: 'tool_call', name: 'whatsapp_buttons', args: buttons }],
      },
      {
        name: 'a call without a name, or with args that are not an object',
        stream:
          line({ author: 'a', content: { role: 'model', parts: [{ function_call: { args: { x: 1 } } }] } }) +
          line({ author: 'a', content: { role: 'model', parts: [{ function_call: { name: 'whatsapp_location', args: [1, 2] } }] } }),
        parts: [{ kind: 'tool_call', name: 'whatsapp_location', args: {} }],
      },
      {
        name: 'a call echoed in a user-authored event is not the agent\'s',
        stream: line({ ...call('whatsapp_buttons', buttons), author: 'user' }),
        parts: [],
      },
    ];

    it.each(partCases)('$name', ({ stream, parts }) => {
      expect(parse([bytes(stream)]).parts).toEqual(parts);
      expect(parse(slice(stream, 3)).parts).toEqual(parts);
    });
  });
});
