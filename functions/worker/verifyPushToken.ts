import { OAuth2Client } from 'google-auth-library';

const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];

/** Returns why a push request's OIDC token is not acceptable, or undefined when it is. */
export type PushTokenVerifier = (authorization: string | undefined) => Promise<string | undefined>;

/**
 * Defence in depth behind Cloud Run's IAM check: the push must carry a Google-signed ID token
 * for our audience, issued to the push service account.
 */
export function createPushTokenVerifier(
  audience: string,
  serviceAccount: string | undefined,
  client: Pick<OAuth2Client, 'verifyIdToken'> = new OAuth2Client(),
): PushTokenVerifier {
  return async (authorization) => {
    const idToken = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
    if (!idToken) return 'missing bearer token';
    try {
      const payload = (await client.verifyIdToken({ idToken, audience })).getPayload();
      if (!payload) return 'token has no payload';
      if (!GOOGLE_ISSUERS.includes(payload.iss)) return `unexpected issuer ${payload.iss}`;
      if (serviceAccount && (payload.email !== serviceAccount || !payload.email_verified)) {
        return 'token is not from the push service account';
      }
      return undefined;
    } catch (error) {
      // google-auth-library quotes the whole token in some messages, and this reason is logged.
      return `invalid token: ${(error as Error).message.replaceAll(idToken, '[token]')}`;
    }
  };
}
