import * as z from 'zod';
import { isDocumentId } from './documentId.js';

/** Firestore's Timestamp range: 0001-01-01 to 9999-12-31 (UTC), in milliseconds. */
const EARLIEST_MS = -62_135_596_800_000;
const LATEST_MS = 253_402_300_799_999;

/** A document id Firestore can hold: anything else makes it throw rather than answer "no page". */
const documentId = z.string().refine(isDocumentId);

const cursorSchema = z.strictObject({
  at: z.number().int().min(EARLIEST_MS).max(LATEST_MS),
  id: documentId,
});

/** Where the next page of sessions starts: the last listed session's activity time and id. */
export type SessionPageCursor = z.infer<typeof cursorSchema>;

export function encodeSessionPageToken(cursor: SessionPageCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** The cursor a token holds, or undefined for a token this store could not have issued. */
export function decodeSessionPageToken(token: string): SessionPageCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,4096}$/.test(token)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = cursorSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
