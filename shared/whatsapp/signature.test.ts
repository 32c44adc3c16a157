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
    ['right hex then garbage', KNOWN_ANSWER_SIGNATURE + 'zz-anything'],
    ['right hex then an odd digit', KNOWN_ANSWER_SIGNATURE + 'a'],
    ['two joined headers', KNOWN_ANSWER_SIGNATURE + ', ' + KNOWN_ANSWER_SIGNATURE],
    ['right hex then a space', KNOWN_ANSWER_SIGNATURE + ' '],
    ['right hex then a newline', KNOWN_ANSWER_SIGNATURE + '\n'],
    ['upper-case prefix', KNOWN_ANSWER_SIGNATURE.replace('sha256=', 'SHA256=')],
  ])('refuses a %s signature', (_name, header) => {
    expect(isValidSignature(raw, header, KNOWN_ANSWER_SECRET)).toBe(false);
  });

  it('accepts the right digest in upper case', () => {
    const upper = 'sha256=' + KNOWN_ANSWER_SIGNATURE.slice('sha256='.length).toUpperCase();
    expect(isValidSignature(raw, upper, KNOWN_ANSWER_SECRET)).toBe(true);
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

  it('refuses every near-miss built on the true signature', () => {
    const hexDigit = fc.constantFrom(...'0123456789abcdefABCDEF');
    const nearMiss = (right: string) =>
      fc.oneof(
        // The right digest followed by anything: garbage, an odd digit, a second header.
        fc.string({ minLength: 1 }).map((tail) => right + tail),
        hexDigit.map((digit) => right + digit),
        fc.constantFrom(', ', ',', ' ', '').map((joiner) => right + joiner + right),
        // Anything before it, or a cut-off digest.
        fc.string({ minLength: 1 }).map((head) => head + right),
        fc.integer({ min: 1, max: 64 }).map((cut) => right.slice(0, -cut)),
        // One digit changed.
        fc.tuple(fc.integer({ min: 7, max: right.length - 1 }), hexDigit).map(([at, digit]) => {
          const replaced = right.slice(0, at) + digit + right.slice(at + 1);
          return replaced.toLowerCase() === right ? right.slice(0, at) + (right[at] === '0' ? '1' : '0') + right.slice(at + 1) : replaced;
        }),
      );
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }).chain((bytes) => {
          const right = signatureFor(Buffer.from(bytes), 'secret');
          return fc.tuple(fc.constant(Buffer.from(bytes)), nearMiss(right));
        }),
        ([body, header]) => {
          expect(isValidSignature(body, header, 'secret')).toBe(false);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
