import { describe, expect, it } from 'vitest';
import { agentCanRead, agentMimeType } from './agentMedia.js';
import { mediaObjectName } from './storedMedia.js';

describe('agentMimeType', () => {
  it.each([
    ['audio/ogg; codecs=opus', 'audio/ogg'],
    ['image/JPEG', 'image/jpeg'],
    ['application/pdf', 'application/pdf'],
    ['', 'application/octet-stream'],
    ['audio/aac', 'audio/x-aac'],
  ])('%s → %s', (given, expected) => {
    expect(agentMimeType(given)).toBe(expected);
  });
});

describe('agentCanRead', () => {
  it.each([
    ['application/pdf', true],
    ['text/plain; charset=utf-8', true],
    ['image/jpeg', true],
    ['image/webp', true],
    ['audio/ogg; codecs=opus', true],
    ['audio/aac', true],
    ['audio/mpeg', true],
    ['video/mp4', true],
    ['video/3gpp', true],
    ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', false],
    ['application/vnd.ms-excel', false],
    ['application/zip', false],
    ['audio/amr', false],
    ['text/csv', false],
    ['', false],
  ])('%s → %s', (mimeType, readable) => {
    expect(agentCanRead(mimeType)).toBe(readable);
  });
});

describe('mediaObjectName', () => {
  const wamid = 'wamid.HBgNNTQ5MTE1NTU1MDAwMRUCABIYFjNFQjBBVURJTzAwMDAwMDAwMDAwMDEA';

  it('is the same for every attempt at one message, and holds no part of the wamid or the number', () => {
    const name = mediaObjectName({ wamid, mediaId: '2154319872634510' });
    expect(name).toBe(mediaObjectName({ wamid, mediaId: '2154319872634510' }));
    expect(name).toMatch(/^inbound\/[0-9a-f]{64}$/);
    expect(name).not.toContain('5491155550001');
    expect(name).not.toContain('HBgN');
  });

  it('differs between messages and between media of one message', () => {
    const names = new Set([
      mediaObjectName({ wamid, mediaId: '1' }),
      mediaObjectName({ wamid, mediaId: '2' }),
      mediaObjectName({ wamid: `${wamid}x`, mediaId: '1' }),
    ]);
    expect(names.size).toBe(3);
  });
});
