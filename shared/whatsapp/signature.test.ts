import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KNOWN_ANSWER_BODY,
  KNOWN_ANSWER_RESERIALISED_SIGNATURE,
  KNOWN_ANSWER_SECRET,
  KNOWN_ANSWER_SIGNATURE,
} from '../../test/fixtures/metaExamples.js';
import { isValidSignature, signatureFor } from './signature.js';

describe('X-Hub-Signature-256', () => {
  const raw = Buffer.from(KNOWN_ANSWER_BODY);

  it('matches the known answer over the exact escaped bytes', () => {
    expect(raw.length).toBe(429);
    expect(signatureFor(raw, KNOWN_ANSWER_SECRET)).toBe(KNOWN_ANSWER_SIGNATURE);
    expect(isValidSignature(raw, KNOWN_ANSWER_SIGNATURE, KNOWN_ANSWER_SECRET)).toBe(true);
  });

  it('does not match a parsed and re-serialised copy (why the raw body must be hashed)', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(KNOWN_ANSWER_BODY)));
    expect(reserialised.length).toBe(424);
    expect(signatureFor(reserialised, KNOWN_ANSWER_SECRET)).toBe(KNOWN_ANSWER_RESERIALISED_SIGNATURE);
    expect(isValidSignature(reserialised, KNOWN_ANSWER_SIGNATURE, KNOWN_ANSWER_SECRET)).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['no prefix', KNOWN_ANSWER_SIGNATURE.slice('sha256='.length)],
    ['sha1 prefix', KNOWN_ANSWER_SIGNATURE.replace('sha256=', 'sha1=')],
    ['truncated', KNOWN_ANSWER_SIGNATURE.slice(0, -2)],
    ['one digit changed', KNOWN_ANSWER_SIGNATURE.slice(0, -1) + '8'],
    ['not hex', 'sha256=' + 'z'.repeat(64)],
  ])('refuses a %s signature', (_name, header) => {
    expect(isValidSignature(raw, header, KNOWN_ANSWER_SECRET)).toBe(false);
  });

  it('refuses the right signature under another secret', () => {
    expect(isValidSignature(raw, KNOWN_ANSWER_SIGNATURE, 'another_secret')).toBe(false);
  });

  it('never throws and accepts only the true signature, for thousands of generated bodies and headers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.string(), fc.string({ minLength: 1 }), (bytes, header, secret) => {
        const body = Buffer.from(bytes);
        expect(isValidSignature(body, header, secret)).toBe(header === signatureFor(body, secret));
        expect(isValidSignature(body, signatureFor(body, secret), secret)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
