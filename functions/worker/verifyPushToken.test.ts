import { createSign, generateKeyPairSync } from 'node:crypto';
import { OAuth2Client, type LoginTicket, type TokenPayload } from 'google-auth-library';
import { describe, expect, it } from 'vitest';
import { createPushTokenVerifier } from './verifyPushToken.js';

const AUDIENCE = 'https://worker-abc123-uc.a.run.app';
const PUSH_SA = 'pubsub-push@my-project.iam.gserviceaccount.com';
const KID = 'test-key-1';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const attackerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const certs = { [KID]: publicKey.export({ type: 'spki', format: 'pem' }).toString() };

/** An RS256 ID token shaped like the one Pub/Sub push sends. */
function idToken(overrides: Partial<TokenPayload> = {}, key = privateKey): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: 'https://accounts.google.com',
    aud: AUDIENCE,
    azp: '117391234567890123456',
    sub: '117391234567890123456',
    email: PUSH_SA,
    email_verified: true,
    iat: now,
    exp: now + 3600,
    ...overrides,
  };
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${encode({ alg: 'RS256', kid: KID, typ: 'JWT' })}.${encode(payload)}`;
  const signature = createSign('RSA-SHA256').update(signed).sign(key).toString('base64url');
  return `${signed}.${signature}`;
}

/**
 * OAuth2Client.verifyIdToken without the download of Google's certificates: the real signature,
 * expiry and audience checks against our generated key. Issuers are left to the verifier under test.
 */
function clientWithTestCerts(): Pick<OAuth2Client, 'verifyIdToken'> {
  const real = new OAuth2Client();
  return {
    verifyIdToken: (async (options: { idToken: string; audience?: string | string[] }) =>
      real.verifySignedJwtWithCertsAsync(options.idToken, certs, options.audience)) as OAuth2Client['verifyIdToken'],
  };
}

const verifier = (serviceAccount: string | undefined = PUSH_SA) =>
  createPushTokenVerifier(AUDIENCE, serviceAccount, clientWithTestCerts());
const anyServiceAccount = () => createPushTokenVerifier(AUDIENCE, undefined, clientWithTestCerts());

describe('createPushTokenVerifier', () => {
  it('accepts a Google-signed token for our audience from the push service account', async () => {
    expect(await verifier()(`Bearer ${idToken()}`)).toBeUndefined();
    // The scheme is case-insensitive (RFC 7235); the short issuer form is Google's too.
    expect(await verifier()(`bearer ${idToken({ iss: 'accounts.google.com' })}`)).toBeUndefined();
  });

  it('refuses a request without a bearer token', async () => {
    expect(await verifier()(undefined)).toBe('missing bearer token');
    expect(await verifier()('')).toBe('missing bearer token');
    expect(await verifier()('Basic dXNlcjpwYXNz')).toBe('missing bearer token');
    expect(await verifier()('Bearer ')).toBe('missing bearer token');
  });

  it('refuses a token for another audience', async () => {
    expect(await verifier()(`Bearer ${idToken({ aud: 'https://someone-else.a.run.app' })}`)).toMatch(/audience/i);
  });

  it('refuses a token from another issuer', async () => {
    expect(await verifier()(`Bearer ${idToken({ iss: 'https://evil.example.com' })}`)).toMatch(/issuer/);
    expect(await verifier()(`Bearer ${idToken({ iss: 'https://securetoken.google.com/other' })}`)).toMatch(/issuer/);
  });

  it('refuses a token from another service account, or an unverified email', async () => {
    const other = await verifier()(`Bearer ${idToken({ email: 'intruder@other-project.iam.gserviceaccount.com' })}`);
    expect(other).toBe('token is not from the push service account');
    expect(await verifier()(`Bearer ${idToken({ email_verified: false })}`)).toBe('token is not from the push service account');
    expect(await verifier()(`Bearer ${idToken({ email: undefined })}`)).toBe('token is not from the push service account');
  });

  it('accepts any Google service account when PUSH_SERVICE_ACCOUNT is unset', async () => {
    expect(await anyServiceAccount()(`Bearer ${idToken({ email: 'any@p.iam.gserviceaccount.com' })}`)).toBeUndefined();
  });

  it('refuses a forged signature, an expired token and garbage', async () => {
    expect(await verifier()(`Bearer ${idToken({}, attackerKey)}`)).toMatch(/^invalid token: Invalid token signature/);
    const now = Math.floor(Date.now() / 1000);
    expect(await verifier()(`Bearer ${idToken({ iat: now - 7200, exp: now - 3600 })}`)).toMatch(/^invalid token: Token used too late/);
    expect(await verifier()('Bearer not-a-jwt')).toMatch(/^invalid token:/);
  });

  it('never puts the presented token in the reason (the reason is logged)', async () => {
    for (const token of [idToken({}, attackerKey), 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0', 'opaque-bearer-secret']) {
      const reason = await verifier()(`Bearer ${token}`);
      expect(reason).toBeDefined();
      expect(reason).not.toContain(token);
    }
  });

  it('passes our audience to the client and refuses a ticket without a payload', async () => {
    const seen: unknown[] = [];
    const fake = {
      verifyIdToken: (async (options: unknown) => {
        seen.push(options);
        return { getPayload: () => undefined } as unknown as LoginTicket;
      }) as OAuth2Client['verifyIdToken'],
    };
    expect(await createPushTokenVerifier(AUDIENCE, PUSH_SA, fake)('Bearer abc.def.ghi')).toBe('token has no payload');
    expect(seen).toEqual([{ idToken: 'abc.def.ghi', audience: AUDIENCE }]);
  });
});
