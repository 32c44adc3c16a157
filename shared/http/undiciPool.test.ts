import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as undici from 'undici';
import { describe, expect, it } from 'vitest';
import { requestText } from './requestText.js';
import { Pool } from './undiciPool.js';

describe('Pool from its own file in undici', () => {
  it('is the class undici exports (this fails when undici moves or changes lib/dispatcher/pool.js)', () => {
    expect(Pool).toBe(undici.Pool);
  });

  it('sends through dispatch without what undici\'s index mixes into dispatchers', async () => {
    const server = createServer((req, res) => res.end(`${req.method} ${req.url} ${req.headers['x-probe']}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 1 });
    try {
      const answer = await requestText(pool, { path: '/probe?x=1', method: 'GET', headers: { 'x-probe': 'yes' } }, performance.now() + 5000, 'the probe');
      expect(answer).toMatchObject({ statusCode: 200, text: 'GET /probe?x=1 yes' });
    } finally {
      await pool.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
