import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as undici from 'undici';
import { describe, expect, it } from 'vitest';
import { Pool } from './undiciPool.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * In a fresh Node process that loads only what the webhook's senders load (this file's own import
 * of undici's index would mix `request` and friends into every dispatcher, as the worker's Graph
 * client does): whether those were mixed in, then one request through requestText and one access
 * token from a metadata server, as the publisher and googleAccessToken send them.
 */
function sendWithoutUndiciIndex(): { mixedIn: string; probe: { statusCode: number; text: string }; token: string } {
  const script = `
    import { createServer } from 'node:http';
    import { Pool } from './shared/http/undiciPool.ts';
    import { requestText } from './shared/http/requestText.ts';
    import { googleAccessToken } from './shared/auth/googleAccessToken.ts';
    const server = createServer((req, res) =>
      req.url.endsWith('/token')
        ? res.end(JSON.stringify({ access_token: 'token-' + req.headers['metadata-flavor'], expires_in: 3600 }))
        : res.end(req.method + ' ' + req.url + ' ' + req.headers['x-probe']));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = 'http://127.0.0.1:' + server.address().port;
    const pool = new Pool(origin, { connections: 1 });
    const mixedIn = typeof pool.request;
    const { statusCode, text } = await requestText(pool, { path: '/probe?x=1', method: 'GET', headers: { 'x-probe': 'yes' } }, performance.now() + 5000, 'the probe');
    const token = await googleAccessToken({ onGoogleCloud: true, metadataUrl: origin + '/token' })();
    await pool.close();
    server.closeAllConnections();
    server.close();
    console.log(JSON.stringify({ mixedIn, probe: { statusCode, text }, token }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

describe('Pool from its own file in undici', () => {
  it('is the class undici exports (this fails when undici moves or changes lib/dispatcher/pool.js)', () => {
    expect(Pool).toBe(undici.Pool);
  });

  it('sends through dispatch without what undici\'s index mixes into dispatchers (a fresh process without the index)', () => {
    const sent = sendWithoutUndiciIndex();
    // The premise: without undici's index a Pool has no `request`, so a sender relying on it would fail in the webhook.
    expect(sent.mixedIn).toBe('undefined');
    expect(sent.probe).toEqual({ statusCode: 200, text: 'GET /probe?x=1 yes' });
    expect(sent.token).toBe('token-Google');
  });
});
