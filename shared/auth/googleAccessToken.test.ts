import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { googleAccessToken } from './googleAccessToken.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('googleAccessToken on Google Cloud', () => {
  it('asks the metadata server once, shares concurrent calls, and renews before expiry', async () => {
    const calls: IncomingMessage['headers'][] = [];
    const server = createServer((req, res) => {
      calls.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: `token-${calls.length}`, expires_in: 3600, token_type: 'Bearer' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    let clock = 1_000_000;
    const token = googleAccessToken({
      onGoogleCloud: true,
      metadataUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
      now: () => clock,
    });

    expect(await Promise.all([token(), token(), token()])).toEqual(['token-1', 'token-1', 'token-1']);
    expect(calls).toHaveLength(1);
    expect(calls[0]!['metadata-flavor']).toBe('Google');
    clock += 50 * 60_000;
    expect(await token()).toBe('token-1');
    clock += 6 * 60_000;
    expect(await token()).toBe('token-2');
  });
});
