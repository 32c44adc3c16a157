import { describe, expect, it } from 'vitest';
import { isMetaMediaUrl } from './isMetaMediaUrl.js';

const GRAPH = 'https://graph.facebook.com';

describe('isMetaMediaUrl', () => {
  it.each([
    'https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2&hash=3',
    'https://scontent.xx.fbcdn.net/v/t1/abc.jpg',
    'https://mmg.whatsapp.net/d/f/abc.enc',
    'https://graph.facebook.com/v25.0/media/1',
    'https://LOOKASIDE.FBSBX.COM/x',
    'https://lookaside.fbsbx.com:443/x',
  ])('lets the token go to %s', (url) => {
    expect(isMetaMediaUrl(url, GRAPH)).toBe(true);
  });

  it.each([
    ['plain http on a Meta host', 'http://lookaside.fbsbx.com/x'],
    ['a look-alike host', 'https://lookaside.fbsbx.com.evil.example/x'],
    ['a suffix without the dot', 'https://evilfbsbx.com/x'],
    ['another host', 'https://attacker.example/collect'],
    ['another port', 'https://lookaside.fbsbx.com:8443/x'],
    ['credentials in the URL', 'https://user:pass@lookaside.fbsbx.com/x'],
    ['loopback', 'http://127.0.0.1:8082/media'],
    ['the metadata server', 'http://169.254.169.254/computeMetadata/v1/'],
    ['not a URL', 'lookaside.fbsbx.com/x'],
    ['another scheme', 'file:///etc/passwd'],
  ])('refuses %s', (_name, url) => {
    expect(isMetaMediaUrl(url, GRAPH)).toBe(false);
  });

  it('allows the origin of a stand-in Graph API (the sandbox), and only that origin', () => {
    const sandbox = 'http://127.0.0.1:8082/';
    expect(isMetaMediaUrl('http://127.0.0.1:8082/media/download?mid=1', sandbox)).toBe(true);
    expect(isMetaMediaUrl('http://127.0.0.1:9999/media/download?mid=1', sandbox)).toBe(false);
    expect(isMetaMediaUrl('http://localhost:8082/media/download?mid=1', sandbox)).toBe(false);
  });
});
