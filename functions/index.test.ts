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
      await push.body.dump();
    } finally {
      webhook.close();
      worker.close();
      vi.unstubAllEnvs();
    }
  });
});
