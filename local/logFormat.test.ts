import { describe, expect, it } from 'vitest';
import { logFormatFrom, printedFunctionLine } from './logFormat.js';

const JSON_LINE =
  '{"severity":"INFO","time":"2026-12-05T15:00:00.000Z","serviceContext":{"service":"worker","version":"local"},"logging.googleapis.com/trace":"projects/p/traces/4bf92f3577b34da6a3ce929d0e0e4736","wamid":"wamid.1","user":"+52*******5678","chunks":1,"message":"reply sent"}';

describe('logFormatFrom', () => {
  it('reads pretty (the default) and json, and names LOG_FORMAT for anything else', () => {
    expect(logFormatFrom(undefined)).toBe('pretty');
    expect(logFormatFrom('')).toBe('pretty');
    expect(logFormatFrom('pretty')).toBe('pretty');
    expect(logFormatFrom('json')).toBe('json');
    expect(() => logFormatFrom('JSON ')).toThrow(/LOG_FORMAT must be "pretty" or "json" \(got "JSON "\)/);
  });
});

describe('printedFunctionLine', () => {
  it('json: passes a function’s JSON line to stdout untouched, with no prefix', () => {
    expect(printedFunctionLine('json', 'worker', JSON_LINE)).toEqual({ stream: 'stdout', text: JSON_LINE });
  });

  it('json: sends what is not a JSON object to stderr, named by its function', () => {
    expect(printedFunctionLine('json', 'webhook', 'Serving function...')).toEqual({ stream: 'stderr', text: '[webhook] Serving function...' });
    expect(printedFunctionLine('json', 'worker', '{not json')).toEqual({ stream: 'stderr', text: '[worker] {not json' });
    expect(printedFunctionLine('json', 'worker', '[1,2]')).toEqual({ stream: 'stderr', text: '[worker] [1,2]' });
  });

  it('pretty: one readable line on stdout with severity, message and the fields that matter', () => {
    expect(printedFunctionLine('pretty', 'worker', JSON_LINE)).toEqual({
      stream: 'stdout',
      text: '[worker] INFO    reply sent  wamid=wamid.1 user=+52*******5678 chunks=1',
    });
    expect(printedFunctionLine('pretty', 'webhook', 'Serving function...')).toEqual({ stream: 'stdout', text: '[webhook] Serving function...' });
  });
});
