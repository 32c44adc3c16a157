import { describe, expect, it } from 'vitest';
import { decodeSessionPageToken, encodeSessionPageToken } from './sessionPageToken.js';

const token = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('session page token', () => {
  it('gives back the cursor it was made from', () => {
    const cursor = { at: Date.parse('2026-05-01T10:00:00Z'), id: encodeURIComponent('US.12345') };
    expect(decodeSessionPageToken(encodeSessionPageToken(cursor))).toEqual(cursor);
  });

  it.each([
    ['a time beyond any date', token({ at: 1e300, id: 'x' })],
    ['a time after 9999', token({ at: 253_402_300_800_000, id: 'x' })],
    ['a time before year 1', token({ at: -62_135_596_800_001, id: 'x' })],
    ['a fractional time', token({ at: 1.5, id: 'x' })],
    ['a time as text', token({ at: '1', id: 'x' })],
    ['an id with a slash', token({ at: 0, id: 'a/b' })],
    ['an id that is a path', token({ at: 0, id: 'whatsapp_sessions/x/y' })],
    ['an empty id', token({ at: 0, id: '' })],
    ['a reserved id', token({ at: 0, id: '__name__' })],
    ['a dot id', token({ at: 0, id: '..' })],
    ['an id over 1500 bytes', token({ at: 0, id: 'x'.repeat(1501) })],
    ['extra fields', token({ at: 0, id: 'x', limit: 1e9 })],
    ['not JSON', Buffer.from('{at:').toString('base64url')],
    ['not base64url', '%%%'],
    ['an array', token([0, 'x'])],
  ])('refuses %s', (_name, forged) => {
    expect(decodeSessionPageToken(forged)).toBeUndefined();
  });
});
