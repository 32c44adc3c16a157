import { createHmac, timingSafeEqual } from 'node:crypto';

const HEADER_PREFIX = 'sha256=';
/**
 * The whole header, nothing before or after: `Buffer.from(hex, 'hex')` silently stops at the
 * first non-hex character, so without this `sha256=<right hex>zz…`, a trailing odd digit or two
 * joined headers would pass on their valid prefix.
 */
const HEADER_FORMAT = /^sha256=[0-9a-fA-F]{64}$/;

/** The `X-Hub-Signature-256` value Meta sends for these exact bytes. */
export function signatureFor(rawBody: Buffer | string, appSecret: string): string {
  return HEADER_PREFIX + createHmac('sha256', appSecret).update(rawBody).digest('hex');
}

/**
 * Checks `X-Hub-Signature-256` against the raw request bytes (never a re-serialised body:
 * Meta signs its own escaped form, e.g. `\u00e9` and `\/`). Constant time.
 */
export function isValidSignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  if (header === undefined || !HEADER_FORMAT.test(header)) return false;
  const received = Buffer.from(header.slice(HEADER_PREFIX.length), 'hex');
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return timingSafeEqual(received, expected);
}
