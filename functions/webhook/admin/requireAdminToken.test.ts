import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const ADMIN_TOKEN = 'adm-5e4d3c2b1a';

/**
 * Runs in a fresh process, as a deployed webhook instance: the real entry (functions/index.ts)
 * with FUNCTION_TARGET=webhook. Records which Firestore and aiplatform module files are loaded
 * (Node's require cache, which holds every CommonJS file of those packages) after a signed
 * callback and unauthenticated admin requests, then after an authenticated one, and the process's RSS.
 */
const CHILD = `
import module from 'node:module';
const require = module.createRequire(process.cwd() + '/package.json');
const heavy = () => Object.keys(require.cache).filter((path) => /node_modules\\/@google-cloud\\/(firestore|aiplatform)\\//.test(path));
await import('./functions/index.ts');
const { getTestServer } = await import('@google-cloud/functions-framework/testing');
const server = getTestServer('webhook');
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = 'http://127.0.0.1:' + server.address().port;
const url = base + '/whatsapp/sessions';
const mib = () => Math.round(process.memoryUsage().rss / 1048576);
const report = { before: heavy().length };
// The message path too: a signed callback is parsed and published (Pub/Sub is unreachable here: 503).
const { signatureFor } = await import('./shared/whatsapp/signature.ts');
const { KNOWN_ANSWER_BODY } = await import('./test/fixtures/metaExamples.ts');
const posted = await fetch(base + '/webhook', {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-hub-signature-256': signatureFor(KNOWN_ANSWER_BODY, 'app-secret') },
  body: KNOWN_ANSWER_BODY,
});
await posted.arrayBuffer();
report.webhookPost = posted.status;
report.rssBefore = mib();
for (const authorization of [undefined, 'Bearer wrong-token', 'Bearer ']) {
  const response = await fetch(url, { headers: authorization ? { authorization } : {} });
  await response.arrayBuffer();
  (report.refused ??= []).push(response.status);
}
report.afterRefused = heavy();
report.rssAfterRefused = mib();
// Authenticated: the routes load. Firestore points at a closed port; only the loading matters here.
fetch(url, { headers: { authorization: 'Bearer ${ADMIN_TOKEN}' } }).catch(() => undefined);
const deadline = Date.now() + 30_000;
while (heavy().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
report.afterAuthenticated = heavy().length;
report.rssAfterAuthenticated = mib();
process.stdout.write(JSON.stringify(report));
process.exit(0);
`;

describe('admin routes on the deployed webhook', () => {
  it('are not loaded for a callback or an unauthenticated request: no Firestore or aiplatform code enters the process', async () => {
    const closedPort = '127.0.0.1:9';
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: root,
      timeout: 170_000,
      env: {
        PATH: process.env.PATH,
        FUNCTION_TARGET: 'webhook',
        GOOGLE_CLOUD_PROJECT: 'demo-admin-loading',
        WHATSAPP_VERIFY_TOKEN: 'verify',
        WHATSAPP_APP_SECRET: 'app-secret',
        ADMIN_API_TOKEN: ADMIN_TOKEN,
        AGENT_ENGINE: 'projects/demo-admin-loading/locations/us-central1/reasoningEngines/1',
        VERTEX_API_ENDPOINT: closedPort,
        FIRESTORE_EMULATOR_HOST: closedPort,
        PUBSUB_EMULATOR_HOST: closedPort,
        LOG_LEVEL: 'silent',
      },
    });
    const report = JSON.parse(stdout) as {
      before: number;
      webhookPost: number;
      refused: number[];
      afterRefused: string[];
      afterAuthenticated: number;
      rssBefore: number;
      rssAfterRefused: number;
      rssAfterAuthenticated: number;
    };
    console.log(
      `webhook RSS: ${report.rssBefore} MiB after start and one callback, ${report.rssAfterRefused} MiB after 3 refused admin requests, ` +
        `${report.rssAfterAuthenticated} MiB once an authenticated one loaded the routes (${report.afterAuthenticated} module files)`,
    );
    expect(report.before).toBe(0);
    expect(report.webhookPost).toBe(503);
    expect(report.refused).toEqual([401, 401, 401]);
    expect(report.afterRefused).toEqual([]);
    expect(report.rssAfterRefused - report.rssBefore).toBeLessThan(32);
    // The same check sees them once a request is authenticated: it can fail.
    expect(report.afterAuthenticated).toBeGreaterThan(0);
    // A fresh process compiles the entry through tsx: slow on a busy machine.
  }, 180_000);
});
