import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture(run: (log: ReturnType<typeof createLogger>) => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  run(createLogger('test', 'debug', sink));
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('createLogger', () => {
  it('writes Cloud Logging structured JSON: severity, message, time, service', () => {
    const [line] = capture((log) => log.warn({ wamid: 'wamid.1' }, 'hello'));
    expect(line).toMatchObject({ severity: 'WARNING', message: 'hello', wamid: 'wamid.1', serviceContext: { service: 'test' } });
    expect(new Date(line!.time as string).toString()).not.toBe('Invalid Date');
  });

  it('adds stack_trace for errors and redacts authorization headers', () => {
    const [line] = capture((log) => log.error({ err: new Error('boom'), headers: { authorization: 'Bearer secret' } }, 'failed'));
    expect(line!.severity).toBe('ERROR');
    expect(String(line!.stack_trace)).toContain('Error: boom');
    expect(JSON.stringify(line)).not.toContain('Bearer secret');
  });
});
