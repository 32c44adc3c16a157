import { requestText } from '../http/requestText.js';
import { Pool } from '../http/undiciPool.js';

const METADATA_TOKEN_URL =
  'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token';
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** Renew this long before the token expires, so a request never carries a stale one. */
const EARLY_RENEWAL_MS = 5 * 60_000;

/**
 * An OAuth access token for the function's service account, cached until shortly before it
 * expires. On Cloud Functions / Cloud Run (`K_SERVICE` set) it comes straight from the metadata
 * server; elsewhere google-auth-library's Application Default Credentials are loaded on first use.
 */
export function googleAccessToken(
  options: { metadataUrl?: string; onGoogleCloud?: boolean; now?: () => number } = {},
): () => Promise<string> {
  const onGoogleCloud = options.onGoogleCloud ?? Boolean(process.env.K_SERVICE);
  const now = options.now ?? Date.now;
  let cached: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let metadataServer: Pool | undefined;

  async function fetchToken(): Promise<{ token: string; expiresInMs: number }> {
    if (onGoogleCloud) {
      const url = new URL(options.metadataUrl ?? METADATA_TOKEN_URL);
      metadataServer ??= new Pool(url.origin, { connections: 1 });
      const { statusCode, text } = await requestText(
        metadataServer,
        { path: url.pathname + url.search, method: 'GET', headers: { 'metadata-flavor': 'Google' } },
        performance.now() + 5000,
        'the access token request to the metadata server',
      );
      if (statusCode !== 200) throw new Error(`metadata server answered ${statusCode} for an access token`);
      const body = JSON.parse(text) as { access_token: string; expires_in: number };
      return { token: body.access_token, expiresInMs: body.expires_in * 1000 };
    }
    const { GoogleAuth } = await import('google-auth-library');
    const client = await new GoogleAuth({ scopes: [SCOPE] }).getClient();
    const { token, res } = await client.getAccessToken();
    if (!token) throw new Error('Application Default Credentials gave no access token');
    const expiry = (res?.data as { expiry_date?: number } | undefined)?.expiry_date;
    return { token, expiresInMs: expiry ? expiry - now() : 30 * 60_000 };
  }

  return async () => {
    if (cached && now() < cached.renewAt) return cached.token;
    pending ??= fetchToken()
      .then(({ token, expiresInMs }) => {
        cached = { token, renewAt: now() + Math.max(0, expiresInMs - EARLY_RENEWAL_MS) };
        return token;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}
