import { describe, expect, it } from 'vitest';
import { parseAgentEvents } from './parseAgentEvents.js';

describe('parseAgentEvents on one long event spread over many chunks', () => {
  const parseIn = (mb: number, chunkBytes: number) => {
    const big = { author: 'a', content: { role: 'user', parts: [{ function_response: { name: 'search', response: { result: 'x'.repeat(mb * 1024 * 1024) } } }] } };
    const bytes = Buffer.from(`${JSON.stringify(big)}\n${JSON.stringify({ author: 'a', content: { parts: [{ text: 'Found it.' }] } })}\n`);
    const parser = parseAgentEvents();
    const started = performance.now();
    for (let at = 0; at < bytes.length; at += chunkBytes) parser.push(bytes.subarray(at, at + chunkBytes));
    const events = parser.finish();
    return { ms: performance.now() - started, text: events.text };
  };

  // A guard against rescanning everything received per chunk (8 s for this before; 0.4 s now): the
  // bound is wide, for a loaded machine, and the worker's event loop is what it protects.
  it('reads an 8 MiB tool-result event in 16 KiB chunks without rescanning it per chunk', () => {
    const { ms, text } = parseIn(8, 16 * 1024);
    expect(text).toBe('Found it.');
    expect(ms).toBeLessThan(4000);
  });
});
