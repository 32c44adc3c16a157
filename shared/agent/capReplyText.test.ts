import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capReplyParts, capReplyText } from './capReplyText.js';
import type { AgentReplyPart } from './parseAgentEvents.js';

describe('capReplyText', () => {
  it('leaves a reply within the cap as it is', () => {
    expect(capReplyText('Hola, ¿en qué te ayudo?', 100)).toBe('Hola, ¿en qué te ayudo?');
    expect(capReplyText('x'.repeat(100), 100)).toBe('x'.repeat(100));
  });

  it('cuts a longer one at a word break near the cap and marks the cut', () => {
    const reply = 'palabra '.repeat(50);
    const capped = capReplyText(reply, 100);
    expect(capped.length).toBeLessThanOrEqual(100);
    expect(capped).toMatch(/palabra…$/);
    expect(capped.length).toBeGreaterThan(90);
  });

  it('cuts inside a word when no break is near', () => {
    expect(capReplyText('x'.repeat(500), 100)).toBe('x'.repeat(99) + '…');
  });

  it('never splits a surrogate pair', () => {
    const capped = capReplyText('😀'.repeat(100), 52);
    expect(capped).toBe('😀'.repeat(25) + '…');
  });

  it('always fits the cap, keeps a prefix of the reply and stays well-formed', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), fc.integer({ min: 2, max: 300 }), (reply, max) => {
        const capped = capReplyText(reply, max);
        expect(capped.length).toBeLessThanOrEqual(Math.max(max, reply.length <= max ? reply.length : 0));
        if (reply.length > max) expect(reply.startsWith(capped.slice(0, -1).trimEnd())).toBe(true);
        expect(capped).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
      }),
    );
  });

  it('marks a reply whose later text was dropped with …', () => {
    const parts: AgentReplyPart[] = [
      { kind: 'text', text: 'a'.repeat(50) },
      { kind: 'tool_call', name: 'whatsapp_location', args: { latitude: 1, longitude: 2 } },
      { kind: 'text', text: 'And here is the rest of the answer.' },
    ];
    const capped = capReplyParts(parts, 50);
    const texts = capped.flatMap((part) => (part.kind === 'text' ? [part.text] : []));
    expect(texts).toEqual([`${'a'.repeat(48)}…`]);
  });
});
