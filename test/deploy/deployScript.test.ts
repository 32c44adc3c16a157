import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Evaluator,
  functionFor,
  type Json,
  type JsonObject,
  loadTerraform,
  loadTfvars,
  resource,
  ROLES,
  ROOT,
  type Terraform,
  terraformOutputJson,
  TF_DIR,
  variableDefaults,
} from './terraformConfig.js';

/*
 * scripts/deploy.sh (npm run deploy) ships code onto the functions Terraform made. It runs here
 * against recording stand-ins for `terraform` (printing the outputs Terraform would print for
 * terraform/ under a scenario's variables, evaluated from the HCL) and `gcloud`; every flag it
 * passes is compared with the function's settings in terraform/. When the real gcloud CLI is
 * installed, every recorded command line also goes through gcloud's own argument parser.
 */

/** Records every call (arguments NUL-separated, the env-vars file copied); `functions describe`
 * fails as gcloud does for the names in FAKE_MISSING. Shell, not node: it starts in milliseconds. */
const FAKE_GCLOUD = `#!/usr/bin/env bash
n=$(find "$FAKE_DIR" -maxdepth 1 -name 'call-*' | wc -l)
recorded=()
for arg in "$@"; do
  if [[ $arg == --env-vars-file=* ]]; then
    cp "\${arg#--env-vars-file=}" "$FAKE_DIR/env-$n.yaml"
    arg="--env-vars-file=$FAKE_DIR/env-$n.yaml"
  fi
  recorded+=("$arg")
done
printf '%s\\0' "\${recorded[@]}" >"$FAKE_DIR/call-$(printf %03d "$n")"
words=()
for arg in "$@"; do [[ $arg == --* ]] || words+=("$arg"); done
if [[ "\${words[0]} \${words[1]}" == "functions describe" && ",\${FAKE_MISSING:-}," == *",\${words[2]},"* ]]; then
  echo "ERROR: (gcloud.functions.describe) NOT_FOUND: Resource 'projects/p/locations/r/functions/\${words[2]}' was not found" >&2
  exit 1
fi
`;

const FAKE_TERRAFORM = `#!/bin/sh
printf '%s\\n' "$@" >"$FAKE_DIR/terraform-args"
if [ -n "$FAKE_TF_OUTPUTS" ]; then cat "$FAKE_TF_OUTPUTS"; else echo '{}'; fi
`;

interface Call {
  args: string[];
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

interface Run {
  status: number | null;
  stderr: string;
  calls: Call[];
  terraformArgs: string[] | undefined;
  dir: string;
}

function runDeploy(options: { outputs?: JsonObject; args?: string[]; env?: Record<string, string> } = {}): Run {
  const dir = tempDir('deploy-test-');
  for (const [name, body] of [['gcloud', FAKE_GCLOUD], ['terraform', FAKE_TERRAFORM]] as const) {
    writeFileSync(path.join(dir, name), body);
    chmodSync(path.join(dir, name), 0o755);
  }
  const env: Record<string, string> = { PATH: `${dir}:${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: dir, FAKE_DIR: dir };
  if (options.outputs) {
    env.FAKE_TF_OUTPUTS = path.join(dir, 'outputs.json');
    writeFileSync(env.FAKE_TF_OUTPUTS, JSON.stringify(options.outputs));
  }
  const result = spawnSync('bash', [path.join(ROOT, 'scripts/deploy.sh'), ...(options.args ?? [])], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...env, ...options.env },
  });
  const calls = readdirSync(dir)
    .filter((file) => file.startsWith('call-'))
    .sort()
    .map((file) => ({ args: readFileSync(path.join(dir, file), 'utf8').split('\0').slice(0, -1) }));
  const terraformArgsFile = path.join(dir, 'terraform-args');
  const terraformArgs = existsSync(terraformArgsFile) ? readFileSync(terraformArgsFile, 'utf8').split('\n').slice(0, -1) : undefined;
  return { status: result.status, stderr: result.stderr, calls, terraformArgs, dir };
}

const flag = (call: Call | undefined, name: string) => call?.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const commandOf = (call: Call) => call.args.filter((a) => !a.startsWith('--')).slice(0, 2).join(' ');
const deployOf = (calls: Call[], name: string) => calls.find((c) => commandOf(c) === 'functions deploy' && c.args.includes(name));

let tf: Terraform;
let defaults: Record<string, Json>;
let tfvarsExample: JsonObject;

const SCENARIOS = ['variable defaults', 'terraform.tfvars.example', 'admin routes on, build by the default account'] as const;
function varsFor(scenario: (typeof SCENARIOS)[number]): Record<string, Json> {
  const required = { project_id: 'example-project', agent_engine: 'projects/agent-project/locations/europe-west1/reasoningEngines/42' };
  if (scenario === 'terraform.tfvars.example') return { ...required, ...defaults, ...tfvarsExample };
  if (scenario === 'admin routes on, build by the default account') {
    return {
      ...required,
      ...defaults,
      enable_admin_api: true,
      create_build_service_account: false,
      worker_ingress: 'ALLOW_INTERNAL_ONLY',
      // Several numbers: JSON values with quotes, commas and non-ASCII text must reach gcloud intact.
      agent_engine_by_number: {
        '111111111111111': 'projects/agent-project/locations/europe-west1/reasoningEngines/7',
        '222222222222222': 'projects/other-project/locations/us-east4/reasoningEngines/8',
      },
      texts_by_number: { '111111111111111': { APOLOGY_TEXT: 'Lo siento, "algo" falló: inténtalo de nuevo.', WELCOME_TEXT: '' } },
    };
  }
  return { ...required, ...defaults };
}

beforeAll(async () => {
  tf = await loadTerraform();
  defaults = variableDefaults(tf);
  tfvarsExample = await loadTfvars(path.join(TF_DIR, 'terraform.tfvars.example'));
});

/** Terraform's ingress_settings values as gcloud names them. */
const GCLOUD_INGRESS: Record<string, string> = {
  ALLOW_ALL: 'all',
  ALLOW_INTERNAL_ONLY: 'internal-only',
  ALLOW_INTERNAL_AND_GCLB: 'internal-and-gclb',
};

describe('scripts/deploy.sh (against recording gcloud and terraform)', () => {
  for (const scenario of SCENARIOS) {
    it(`deploys both functions with the settings Terraform applies (${scenario})`, () => {
      const evaluator = new Evaluator(tf, varsFor(scenario));
      const run = runDeploy({ outputs: terraformOutputJson(tf, evaluator) });
      expect(run.status, run.stderr).toBe(0);
      expect(run.terraformArgs).toEqual([`-chdir=${TF_DIR}`, 'output', '-json']);
      expect([...new Set(run.calls.map(commandOf))].sort(), 'it only reads and deploys functions').toEqual(['functions deploy', 'functions describe']);

      for (const role of ROLES) {
        const facts = functionFor(tf, evaluator, role);
        const name = String(evaluator.value(facts.block.name));
        const call = deployOf(run.calls, name);
        expect(call, `gcloud functions deploy ${name}`).toBeDefined();
        const { build, service } = facts;
        const expected: Record<string, string | undefined> = {
          project: String(varsFor(scenario).project_id),
          region: String(evaluator.value(facts.block.location)),
          source: ROOT,
          runtime: String(build.runtime),
          'entry-point': role,
          'run-service-account': String(service.service_account_email),
          'build-service-account': build.service_account === null ? undefined : String(build.service_account),
          'docker-repository': String(build.docker_repository),
          'ingress-settings': GCLOUD_INGRESS[String(service.ingress_settings)],
          timeout: `${String(service.timeout_seconds)}s`,
          memory: String(service.available_memory),
          cpu: String(service.available_cpu),
          concurrency: String(service.max_instance_request_concurrency),
          'min-instances': String(service.min_instance_count),
          'max-instances': String(service.max_instance_count),
        };
        for (const [name, value] of Object.entries(expected)) expect(flag(call, name), `${role} --${name}`).toBe(value);
        expect(call?.args).toEqual(expect.arrayContaining(['--gen2', '--trigger-http', '--serve-all-traffic-latest-revision']));

        const env = JSON.parse(readFileSync(flag(call, 'env-vars-file') ?? '', 'utf8')) as unknown;
        expect(env, `${role} environment`).toEqual(facts.env);
        expect(facts.env.NODE_ENV).toBe('production');
        // The worker copies inbound media into the bucket Terraform created (issue 18).
        if (role === 'worker') expect((env as Record<string, string>).MEDIA_BUCKET).toBe(evaluator.value(resource(tf, 'google_storage_bucket', 'media').name));

        const secrets = Object.fromEntries((flag(call, 'set-secrets') ?? '').split(',').map((pair) => pair.split('=')));
        const expectedSecrets = Object.fromEntries(
          (Array.isArray(service.secret_environment_variables) ? service.secret_environment_variables : []).map((binding) => {
            const b = binding as JsonObject;
            return [String(b.key), `projects/${String(b.project_id)}/secrets/${String(b.secret)}:${String(b.version)}`];
          }),
        );
        expect(secrets, `${role} secrets`).toEqual(expectedSecrets);
        expect(Object.keys(secrets).length).toBe(facts.secrets.size);

        const known = new Set([...Object.keys(expected), 'env-vars-file', 'set-secrets', 'quiet', 'gen2', 'trigger-http', 'serve-all-traffic-latest-revision']);
        const passed = (call?.args ?? []).filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0] ?? '');
        expect(passed.filter((f) => !known.has(f)), `${role}: flags this test does not check`).toEqual([]);
      }
      expect(run.stderr).toContain('Callback URL for Meta');
    });
  }

  it('deploys only the function named on the command line', () => {
    const run = runDeploy({ outputs: terraformOutputJson(tf, new Evaluator(tf, varsFor('variable defaults'))), args: ['worker'] });
    expect(run.status, run.stderr).toBe(0);
    expect(run.calls.filter((c) => commandOf(c) === 'functions deploy').map((c) => c.args[c.args.indexOf('deploy') + 1])).toEqual(['whatsapp-worker']);
  });

  it('refuses an unknown function name', () => {
    const run = runDeploy({ outputs: terraformOutputJson(tf, new Evaluator(tf, varsFor('variable defaults'))), args: ['wroker'] });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("unknown function 'wroker'");
    expect(run.calls).toEqual([]);
  });

  it('says the infrastructure does not exist yet when Terraform has no outputs', () => {
    const run = runDeploy({ outputs: {} });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/no outputs .*does not exist yet.*terraform init && terraform apply/);
    expect(run.calls).toEqual([]);
  });

  it('names the outputs an older state lacks', () => {
    const outputs = terraformOutputJson(tf, new Evaluator(tf, varsFor('variable defaults')));
    delete outputs.functions;
    const run = runDeploy({ outputs });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('lack the outputs `project_id` and `functions`: run `terraform apply`');
    expect(run.calls).toEqual([]);
  });

  it('names a function Terraform has not created, and deploys nothing', () => {
    const outputs = terraformOutputJson(tf, new Evaluator(tf, varsFor('variable defaults')));
    const run = runDeploy({ outputs, env: { FAKE_MISSING: 'whatsapp-worker' } });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('function whatsapp-worker does not exist in project example-project, region us-central1: run `terraform apply`');
    expect(run.calls.filter((c) => commandOf(c) === 'functions deploy')).toEqual([]);
  });

  it('reads the outputs from DEPLOY_OUTPUTS_FILE without terraform', () => {
    const dir = tempDir('deploy-outputs-');
    const file = path.join(dir, 'outputs.json');
    writeFileSync(file, JSON.stringify(terraformOutputJson(tf, new Evaluator(tf, varsFor('variable defaults')))));
    const run = runDeploy({ env: { DEPLOY_OUTPUTS_FILE: file } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.terraformArgs).toBeUndefined();
    expect(deployOf(run.calls, 'whatsapp-webhook')).toBeDefined();
  });
});

// ---------------------------------------------------------------- gcloud's own parser

const gcloudVersion = spawnSync('gcloud', ['version'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, CLOUDSDK_CONFIG: tmpdir() } });
const hasGcloud = !gcloudVersion.error && gcloudVersion.status === 0;
if (!hasGcloud) {
  console.warn(
    '\n!!! SKIPPING the gcloud argument-parser check of scripts/deploy.sh: the `gcloud` CLI is not on PATH. ' +
      'Install the Google Cloud SDK to have every deploy command line checked by gcloud itself. !!!\n',
  );
}

/** Runs one recorded command line through the real gcloud: no account, a fake project, no network. */
function realGcloud(args: string[], config: string): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('gcloud', args, {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: config,
        CLOUDSDK_CONFIG: config,
        CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
        CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
        CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
        CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
        // Anything that tried the network would meet a closed local port.
        CLOUDSDK_PROXY_TYPE: 'http',
        CLOUDSDK_PROXY_ADDRESS: '127.0.0.1',
        CLOUDSDK_PROXY_PORT: '9',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
      // Parsing takes a few seconds; far longer means gcloud is waiting on something (the network).
      timeout: GCLOUD_TIMEOUT_MS,
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status, signal) =>
      resolve({ status, stderr: signal ? `${stderr}\n(killed by ${signal} after ${GCLOUD_TIMEOUT_MS} ms)` : stderr }),
    );
  });
}

const GCLOUD_TIMEOUT_MS = 120_000;

/** Runs the command lines two at a time: gcloud is a heavy Python start-up on a small machine. */
async function throughGcloud(lines: string[][], config: string): Promise<{ status: number | null; stderr: string }[]> {
  const results: { status: number | null; stderr: string }[] = [];
  for (let i = 0; i < lines.length; i += 2) results.push(...(await Promise.all(lines.slice(i, i + 2).map((args) => realGcloud(args, config)))));
  return results;
}

describe.skipIf(!hasGcloud)('scripts/deploy.sh command lines (through the real gcloud parser)', () => {
  it('are accepted by gcloud: no unknown flag or bad value (exit 2); it stops only for want of an account', async () => {
    const evaluator = new Evaluator(tf, varsFor('admin routes on, build by the default account'));
    const withBuildAccount = runDeploy({ outputs: terraformOutputJson(tf, new Evaluator(tf, varsFor('variable defaults'))), args: ['webhook'] });
    const run = runDeploy({ outputs: terraformOutputJson(tf, evaluator) });
    expect(run.status, run.stderr).toBe(0);
    const calls = [...run.calls, ...withBuildAccount.calls.filter((c) => commandOf(c) === 'functions deploy')];
    expect(calls.length).toBeGreaterThanOrEqual(5);
    const config = tempDir('gcloud-config-');
    const results = await throughGcloud(calls.map((call) => call.args), config);
    results.forEach((result, i) => {
      const line = `gcloud ${calls[i]?.args.join(' ')}`;
      expect(result.status, `${line}\n${result.stderr}`).not.toBe(2);
      expect(result.stderr, `${line}: gcloud got past argument parsing to the credentials check`).toContain(
        'You do not currently have an active account selected',
      );
      expect(result.status, line).toBe(1);
    });
  }, 6 * GCLOUD_TIMEOUT_MS);
});
