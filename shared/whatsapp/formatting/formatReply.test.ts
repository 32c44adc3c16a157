import { describe, expect, it } from 'vitest';
import { markdownToWhatsApp } from './markdownToWhatsApp.js';
import { FULL_CONVERSION_MAX_CHARS, formatReply, MAX_REPLY_CHUNKS } from './formatReply.js';

describe('formatReply', () => {
  it('converts an ordinary answer fully, in one message', () => {
    const markdown = '## Horario\n\n**Lunes a viernes**: 9–18 h. Más en [la web](https://example.com).';
    expect(formatReply(markdown, 4096)).toEqual([markdownToWhatsApp(markdown)]);
  });

  it('formats the adversarial `http://a` + 40,000 dots in under 200 ms', () => {
    // The full parser took 22 s on this (GFM autolink literals are quadratic on it). The bound is
    // generous on purpose: it only has to tell linear from quadratic on a shared, loaded machine.
    // CPU time, not wall time: it is what the worker's event loop loses, and it does not grow
    // when other processes share the machine.
    const adversarial = 'http://a' + '.'.repeat(40_000);
    const wallStarted = performance.now();
    const cpuStarted = process.cpuUsage();
    const chunks = formatReply(adversarial, 4096);
    const cpu = process.cpuUsage(cpuStarted);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(
      `formatReply('http://a' + 40,000 dots): ${cpuMs.toFixed(1)} ms CPU, ${(performance.now() - wallStarted).toFixed(1)} ms wall, ${chunks.length} chunks`,
    );
    expect(cpuMs).toBeLessThan(200);
    expect(chunks.length).toBeLessThanOrEqual(MAX_REPLY_CHUNKS);
    expect(chunks.join('')).toMatch(/^http:\/\/a\.+…?$/);
  });

  it('sends a long answer as written, with inert markers, above the full-conversion size', () => {
    const paragraph = 'Un **paso** y luego 2*3*4 con snake_case_names. ';
    const long = paragraph.repeat(Math.ceil((FULL_CONVERSION_MAX_CHARS + 1) / paragraph.length));
    const text = formatReply(long, 4096).join(' ');
    // Nothing turns bold or italic by accident: every marker is fenced by word joiners.
    expect(text).not.toMatch(/(^|[^\u2060])[*_~`]/);
    expect(text.replaceAll('\u2060', '')).toContain('Un **paso** y luego 2*3*4 con snake_case_names.');
  });

  it(`never makes more than ${MAX_REPLY_CHUNKS} messages, and marks the cut`, () => {
    const chunks = formatReply('palabra '.repeat(20_000), 500);
    expect(chunks).toHaveLength(MAX_REPLY_CHUNKS);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(500);
    expect(chunks.at(-1)).toMatch(/…$/);
    expect(chunks.slice(0, -1).join(' ')).not.toContain('…');
  });

  it('keeps every message when the answer fits in the allowed number', () => {
    const chunks = formatReply('palabra '.repeat(300), 500);
    expect(chunks.length).toBeLessThanOrEqual(MAX_REPLY_CHUNKS);
    expect(chunks.join(' ').replace(/\s+/g, ' ')).toBe('palabra '.repeat(300).trim());
  });
});
