import { describe, expect, it } from 'vitest';
import { agentMimeType } from './agentMedia.js';
import { mediaObjectName } from './storedMedia.js';

describe('agentMimeType', () => {
  it.each([
    ['audio/ogg; codecs=opus', 'audio/ogg'],
    ['image/JPEG', 'image/jpeg'],
    ['application/pdf', 'application/pdf'],
    ['', 'application/octet-stream'],
  ])('%s → %s', (given, expected) => {
    expect(agentMimeType(given)).toBe(expected);
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
