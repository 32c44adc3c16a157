import { getTestServer } from '@google-cloud/functions-framework/testing';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';

describe('functions/index without a known target', () => {
  it('registers both functions and builds each on its first request, so one function’s settings suffice', async () => {
    vi.stubEnv('FUNCTION_TARGET', undefined);
    vi.stubEnv('GOOGLE_CLOUD_PROJECT', 'p');
    vi.stubEnv('WHATSAPP_VERIFY_TOKEN', 'v');
    vi.stubEnv('WHATSAPP_APP_SECRET', 's');
    vi.stubEnv('WHATSAPP_ACCESS_TOKEN', undefined);
    vi.stubEnv('AGENT_ENGINE', undefined);
    vi.stubEnv('LOG_LEVEL', 'silent');
    await import('./index.js');

    const listen = (name: string) => {
      const server = getTestServer(name);
      return new Promise<typeof server>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
    };
    const [webhook, worker] = await Promise.all([listen('webhook'), listen('worker')]);
    try {
      const url = (server: typeof webhook) => `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const health = await request(`${url(webhook)}/healthz`);
      expect(health.statusCode).toBe(200);
      await health.body.dump();
      // The worker's settings are missing: its requests fail (and Pub/Sub would retry) but nothing crashed.
      const push = await request(url(worker), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(push.statusCode).toBe(500);
      // The failure stays in the log: the caller learns nothing about settings, files or code.
      expect(await push.body.text()).toBe('Internal Server Error');

      // Malformed JSON fails in the framework's parser, before any function runs. NODE_ENV is
      // `test` here, so Express's own error page would carry the stack and the file paths.
      for (const server of [webhook, worker]) {
        const malformed = await request(url(server), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"message":',
        });
        expect(malformed.statusCode).toBe(400);
        expect(await malformed.body.text()).toBe('Bad Request');
      }
    } finally {
      webhook.close();
      worker.close();
      vi.unstubAllEnvs();
    }
  });
});
