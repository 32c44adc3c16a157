/**
 * Hosts Meta serves media downloads from (`lookaside.fbsbx.com` today; its CDNs). The download
 * carries the WhatsApp bearer token, so it goes nowhere else.
 */
const META_MEDIA_HOST = /(^|\.)(fbsbx\.com|fbcdn\.net|facebook\.com|whatsapp\.net)$/;

/**
 * Whether a media URL from the Graph API's metadata may receive the token: https on a Meta host,
 * or the Graph API's own origin (the sandbox and other stand-ins set GRAPH_API_BASE_URL).
 */
export function isMetaMediaUrl(url: string, graphBaseUrl: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username || parsed.password) return false;
  if (parsed.origin === new URL(graphBaseUrl).origin) return true;
  return parsed.protocol === 'https:' && (parsed.port === '' || parsed.port === '443') && META_MEDIA_HOST.test(parsed.hostname);
}
