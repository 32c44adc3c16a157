import { createHmac, timingSafeEqual } from 'node:crypto';

const HEADER_PREFIX = 'sha256=';

/** The `X-Hub-Signature-256` value Meta sends for these exact bytes. */
export function signatureFor(rawBody: Buffer | string, appSecret: string): string {
  return HEADER_PREFIX + createHmac('sha256', appSecret).update(rawBody).digest('hex');
}

/**
 * Checks `X-Hub-Signature-256` against the raw request bytes (never a re-serialised body:
 * Meta signs its own escaped form, e.g. `\u00e9` and `\/`). Constant time.
 */
export function isValidSignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  if (!header?.startsWith(HEADER_PREFIX)) return false;
  const received = Buffer.from(header.slice(HEADER_PREFIX.length), 'hex');
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return received.length === expected.length && timingSafeEqual(received, expected);
}
