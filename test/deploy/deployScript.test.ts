import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookConfigSchema, workerConfigSchema } from '../../shared/config/config.js';

/*
 * Runs scripts/deploy.sh against stand-ins for `gcloud` and `curl` that record every call and
 * answer like a fresh project whose secrets already hold values, then checks the commands
 * against the same delivery invariants the Terraform tests check.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PROJECT_NUMBER = '123456789012';

const FAKE_GCLOUD = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const dir = process.env.FAKE_DIR;
const words = args.filter((a) => !a.startsWith('--'));
const envFile = args.find((a) => a.startsWith('--env-vars-file='));
const policyFile = args.find((a) => a.startsWith('--policy-from-file='));
const call = { args };
if (envFile) call.envFile = JSON.parse(fs.readFileSync(envFile.slice('--env-vars-file='.length), 'utf8'));
if (policyFile) call.policy = JSON.parse(fs.readFileSync(policyFile.slice('--policy-from-file='.length), 'utf8'));
fs.appendFileSync(path.join(dir, 'gcloud.log'), JSON.stringify(call) + '\\n');
const has = (...w) => w.every((x) => words.includes(x));
if (has('projects', 'describe')) { process.stdout.write('${PROJECT_NUMBER}\\n'); process.exit(0); }
if (has('auth', 'print-access-token')) { process.stdout.write('fake-token\\n'); process.exit(0); }
if (has('secrets', 'versions', 'list')) {
  if (!process.env.FAKE_NO_SECRET_VALUES) process.stdout.write('projects/p/secrets/s/versions/1\\n');
  process.exit(0);
}
if (has('functions', 'describe')) { process.stdout.write('https://example.cloudfunctions.net/whatsapp-webhook\\n'); process.exit(0); }
if (words.includes('describe')) process.exit(1);
process.exit(0);
`;

const FAKE_CURL = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
fs.appendFileSync(path.join(process.env.FAKE_DIR, 'curl.log'), JSON.stringify(args) + '\\n');
if (args.some((a) => a.endsWith(':getIamPolicy'))) process.stdout.write('{"bindings":[]}');
`;

interface GcloudCall {
  args: string[];
  envFile?: Record<string, string>;
  policy?: unknown;
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function runDeploy(env: Record<string, string>, deployEnvFile?: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'deploy-test-'));
  dirs.push(dir);
  for (const [name, body] of [['gcloud', FAKE_GCLOUD], ['curl', FAKE_CURL]] as const) {
    writeFileSync(path.join(dir, name), body);
    chmodSync(path.join(dir, name), 0o755);
  }
  const envFile = path.join(dir, 'deploy.env');
  if (deployEnvFile !== undefined) writeFileSync(envFile, deployEnvFile);
  const result = spawnSync('bash', [path.join(ROOT, 'scripts/deploy.sh')], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      PATH: `${dir}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
      HOME: dir,
      FAKE_DIR: dir,
      DEPLOY_ENV_FILE: envFile,
      PROJECT_ID: 'example-project',
      AGENT_ENGINE: 'projects/agent-project/locations/europe-west1/reasoningEngines/42',
      ...env,
    },
  });
  const read = (name: string) => {
    try {
      return readFileSync(path.join(dir, name), 'utf8').trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  const calls = read('gcloud.log').map((line) => JSON.parse(line) as GcloudCall);
  return { ...result, calls, curl: read('curl.log').map((line) => JSON.parse(line) as string[]) };
}

const flag = (call: GcloudCall | undefined, name: string) =>
  call?.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const find = (calls: GcloudCall[], ...words: string[]) =>
  calls.find((c) => words.every((w) => c.args.includes(w)));

describe('scripts/deploy.sh (against a recording gcloud)', () => {
  it('deploys both functions, the ordered push subscription and the dead-letter subscription', () => {
    const run = runDeploy({});
    expect(run.status, run.stderr).toBe(0);

    const worker = find(run.calls, 'functions', 'deploy', 'whatsapp-worker');
    const webhook = find(run.calls, 'functions', 'deploy', 'whatsapp-webhook');
    expect(flag(worker, 'entry-point')).toBe('worker');
    expect(flag(webhook, 'entry-point')).toBe('webhook');
    for (const fn of [worker, webhook]) {
      expect(fn?.args).toContain('--gen2');
      expect(flag(fn, 'runtime')).toMatch(/^nodejs2[24]$/);
    }
    expect(worker?.args).toContain('--no-allow-unauthenticated');
    expect(webhook?.args).toContain('--allow-unauthenticated');

    const env = worker?.envFile ?? {};
    const secrets = (call: GcloudCall | undefined) => (flag(call, 'set-secrets') ?? '').split(',').map((s) => s.split('=')[0]);
    for (const [key, field] of Object.entries(workerConfigSchema.shape)) {
      if (!field.safeParse(undefined).success) expect([...Object.keys(env), ...secrets(worker)], `worker gets ${key}`).toContain(key);
    }
    expect(secrets(webhook)).toEqual(expect.arrayContaining(['WHATSAPP_APP_SECRET', 'WHATSAPP_VERIFY_TOKEN']));
    expect(secrets(webhook)).not.toContain('WHATSAPP_ACCESS_TOKEN');
    expect(webhook?.envFile?.PUBSUB_TOPIC).toBe('whatsapp-inbound');

    const withSecrets = (call: GcloudCall | undefined) => ({
      ...call?.envFile,
      ...Object.fromEntries(secrets(call).map((key) => [key, 'secret-value'])),
    });
    expect(workerConfigSchema.safeParse(withSecrets(worker)).success, 'worker env passes its schema').toBe(true);
    expect(webhookConfigSchema.safeParse(withSecrets(webhook)).success, 'webhook env passes its schema').toBe(true);

    const timeout = Number(flag(worker, 'timeout')?.replace(/s$/, ''));
    expect(Number(env.PROCESSING_LEASE_SECONDS)).toBeGreaterThan(timeout);
    expect(Number(env.AGENT_TIMEOUT_MS)).toBeLessThan(timeout * 1000);

    const push = find(run.calls, 'pubsub', 'subscriptions', 'create', 'whatsapp-inbound-worker');
    expect(push?.args).toContain('--enable-message-ordering');
    expect(flag(push, 'max-delivery-attempts')).toBe(env.MAX_DELIVERY_ATTEMPTS);
    expect(Number(flag(push, 'ack-deadline'))).toBeGreaterThan(timeout);
    expect(flag(push, 'push-auth-token-audience')).toBe(env.PUSH_AUDIENCE);
    expect(flag(push, 'push-endpoint')).toBe(`https://whatsapp-worker-${PROJECT_NUMBER}.us-central1.run.app`);
    expect(flag(push, 'dead-letter-topic')).toBe('projects/example-project/topics/whatsapp-inbound-dlq');
    expect(flag(push, 'min-retry-delay')).toBeDefined();

    const dlq = find(run.calls, 'pubsub', 'subscriptions', 'create', 'whatsapp-inbound-dlq-sub');
    expect(flag(dlq, 'message-retention-duration')).toBe('7d');
    expect(flag(dlq, 'push-endpoint')).toBeUndefined();

    const invoker = find(run.calls, 'functions', 'add-invoker-policy-binding', 'whatsapp-worker');
    expect(flag(invoker, 'member')).toBe('serviceAccount:whatsapp-push@example-project.iam.gserviceaccount.com');
    expect(run.calls.flatMap((c) => c.args).join(' ')).not.toMatch(/roles\/(owner|editor)\b|allUsers|allAuthenticatedUsers/);

    expect(run.calls.filter((c) => c.args.includes('policies') && c.policy !== undefined)).toHaveLength(4);
    expect(run.curl.some((args) => args.some((a) => a.endsWith('reasoningEngines/42:setIamPolicy')))).toBe(true);
  });

  it('reads deploy.env, and lets the environment win over it', () => {
    const run = runDeploy({ WORKER_TIMEOUT_SECONDS: '400' }, 'MAX_DELIVERY_ATTEMPTS=9\nWORKER_TIMEOUT_SECONDS=100\n# comment\nAPOLOGY_TEXT="Sorry, we\'re busy, try again"\n');
    expect(run.status, run.stderr).toBe(0);
    const worker = find(run.calls, 'functions', 'deploy', 'whatsapp-worker');
    expect(flag(worker, 'timeout')).toBe('400s');
    expect(worker?.envFile?.MAX_DELIVERY_ATTEMPTS).toBe('9');
    expect(worker?.envFile?.PROCESSING_LEASE_SECONDS).toBe('430');
    expect(worker?.envFile?.APOLOGY_TEXT).toBe("Sorry, we're busy, try again");
    expect(flag(find(run.calls, 'pubsub', 'subscriptions', 'create', 'whatsapp-inbound-worker'), 'max-delivery-attempts')).toBe('9');
  });

  it('refuses an ack deadline that does not exceed the worker timeout', () => {
    const run = runDeploy({ ACK_DEADLINE_SECONDS: '300', WORKER_TIMEOUT_SECONDS: '300' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/ACK_DEADLINE_SECONDS.*must exceed WORKER_TIMEOUT_SECONDS/);
    expect(find(run.calls, 'functions', 'deploy')).toBeUndefined();
  });

  it('stops before deploying when a secret has no value, and says how to add it', () => {
    const run = runDeploy({ FAKE_NO_SECRET_VALUES: '1' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('gcloud secrets versions add whatsapp-access-token');
    expect(find(run.calls, 'functions', 'deploy')).toBeUndefined();
  });
});
