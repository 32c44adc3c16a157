import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { webhookConfigSchema, workerConfigSchema } from '../../shared/config/config.js';

/*
 * Invariants of terraform/ that no `terraform validate` would catch, checked here because this
 * machine has no Terraform binary and no cloud: every .tf file is parsed with the real HCL
 * parser (@cdktf/hcl2json) and its values are resolved from variable defaults and from
 * terraform.tfvars.example.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TF_DIR = path.join(ROOT, 'terraform');

// ---------------------------------------------------------------- the parsed configuration

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Block = JsonObject;

interface Terraform {
  resources: Map<string, Map<string, Block>>;
  dataSources: Map<string, Map<string, Block>>;
  locals: JsonObject;
  variables: Map<string, Block>;
  outputs: Map<string, Block>;
  terraformBlocks: Block[];
  /** Every parsed file, for whole-configuration scans. */
  files: Map<string, JsonObject>;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** hcl2json gives each block as an array of bodies; Terraform allows one body per label. */
function firstBody(value: Json | undefined): Block | undefined {
  if (Array.isArray(value)) return value.find(isObject);
  return isObject(value) ? value : undefined;
}

function bodies(value: Json | undefined): Block[] {
  if (Array.isArray(value)) return value.filter(isObject);
  return isObject(value) ? [value] : [];
}

async function loadTerraform(): Promise<Terraform> {
  const tf: Terraform = {
    resources: new Map(),
    dataSources: new Map(),
    locals: {},
    variables: new Map(),
    outputs: new Map(),
    terraformBlocks: [],
    files: new Map(),
  };
  const names = readdirSync(TF_DIR).filter((name) => name.endsWith('.tf'));
  for (const name of names) {
    const parsed = (await parse(name, readFileSync(path.join(TF_DIR, name), 'utf8'))) as JsonObject;
    tf.files.set(name, parsed);
    for (const [kind, into] of [['resource', tf.resources], ['data', tf.dataSources]] as const) {
      const byType = parsed[kind];
      for (const [type, byName] of Object.entries(isObject(byType) ? byType : {})) {
        const target = into.get(type) ?? new Map<string, Block>();
        for (const [label, body] of Object.entries(isObject(byName) ? byName : {})) {
          const block = firstBody(body);
          if (block) target.set(label, block);
        }
        into.set(type, target);
      }
    }
    for (const localsBody of bodies(parsed.locals)) Object.assign(tf.locals, localsBody);
    for (const [label, body] of Object.entries(isObject(parsed.variable) ? parsed.variable : {})) {
      tf.variables.set(label, firstBody(body) ?? {});
    }
    for (const [label, body] of Object.entries(isObject(parsed.output) ? parsed.output : {})) {
      tf.outputs.set(label, firstBody(body) ?? {});
    }
    tf.terraformBlocks.push(...bodies(parsed.terraform));
  }
  return tf;
}

async function loadTfvars(file: string): Promise<JsonObject> {
  return (await parse(path.basename(file), readFileSync(file, 'utf8'))) as JsonObject;
}

function resourcesOf(tf: Terraform, type: string): Map<string, Block> {
  return tf.resources.get(type) ?? new Map();
}

function resource(tf: Terraform, type: string, name: string): Block {
  const block = resourcesOf(tf, type).get(name);
  if (!block) throw new Error(`terraform/ has no resource ${type}.${name}`);
  return block;
}

function sub(block: Block | undefined, ...keys: string[]): Block | undefined {
  let current = block;
  for (const key of keys) current = firstBody(current?.[key]);
  return current;
}

function allStrings(value: Json | undefined, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) allStrings(item, out);
  else if (isObject(value)) for (const item of Object.values(value)) allStrings(item, out);
  return out;
}

// ---------------------------------------------------------------- evaluating expressions

/** A value Terraform only knows at apply time (a resource attribute, data source, ...). */
const unknown = (expression: string): string => `<${expression.trim()}>`;

/** Splits `a, f(b, c), [d]` at its top-level commas. */
function splitArguments(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (char === '"' && text[i - 1] !== '\\') quoted = !quoted;
    if (quoted) continue;
    if (char === '(' || char === '[' || char === '{') depth += 1;
    else if (char === ')' || char === ']' || char === '}') depth -= 1;
    else if (char === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  const last = text.slice(start);
  if (last.trim() !== '') parts.push(last);
  return parts.map((part) => part.trim());
}

/** `name(args)` when the whole expression is one call, else undefined. */
function asCall(expression: string): { name: string; args: string[] } | undefined {
  const match = /^([a-z_]+)\(([\s\S]*)\)$/.exec(expression);
  if (!match?.[1] || match[2] === undefined) return undefined;
  let depth = 0;
  for (const char of match[2]) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (depth < 0) return undefined;
  }
  return { name: match[1], args: splitArguments(match[2]) };
}

/**
 * Resolves the small subset of Terraform expressions this configuration uses for the values the
 * invariants depend on: var./local. references, tostring/toset/merge, list literals, integer
 * arithmetic and string templates. Anything else resolves to an `<unknown>` marker.
 */
class Evaluator {
  constructor(
    private readonly tf: Terraform,
    private readonly vars: Readonly<Record<string, Json>>,
  ) {}

  value(value: Json | undefined): Json {
    if (value === undefined) return null;
    if (typeof value === 'string') return this.template(value);
    if (Array.isArray(value)) return value.map((item) => this.value(item));
    if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.value(v)]));
    return value;
  }

  number(value: Json | undefined): number {
    const resolved = this.value(value);
    const result = typeof resolved === 'number' ? resolved : Number(resolved);
    if (!Number.isFinite(result)) throw new Error(`expected a number, got ${JSON.stringify(value)} -> ${JSON.stringify(resolved)}`);
    return result;
  }

  object(value: Json | undefined): JsonObject {
    const resolved = this.value(value);
    if (!isObject(resolved)) throw new Error(`expected an object, got ${JSON.stringify(value)} -> ${JSON.stringify(resolved)}`);
    return resolved;
  }

  private template(text: string): Json {
    const whole = /^\$\{([\s\S]*)\}$/.exec(text);
    if (whole?.[1] !== undefined && !whole[1].includes('${')) return this.expression(whole[1]);
    return text.replace(/\$\{([^}]*)\}/g, (_, inner: string) => {
      const resolved = this.expression(inner);
      return typeof resolved === 'string' || typeof resolved === 'number' || typeof resolved === 'boolean'
        ? String(resolved)
        : unknown(inner);
    });
  }

  expression(raw: string): Json {
    const expression = raw.trim();
    if (/^-?\d+(\.\d+)?$/.test(expression)) return Number(expression);
    if (/^"[^"]*"$/.test(expression)) return expression.slice(1, -1);
    if (expression === 'true' || expression === 'false') return expression === 'true';

    const variable = /^var\.([a-z0-9_]+)$/.exec(expression);
    if (variable?.[1]) {
      const value = this.vars[variable[1]];
      return value === undefined ? unknown(expression) : this.value(value);
    }
    const attribute = /^var\.([a-z0-9_]+)\.([a-z0-9_]+)$/.exec(expression);
    if (attribute?.[1] && attribute[2]) {
      const value = this.vars[attribute[1]];
      return isObject(value) && value[attribute[2]] !== undefined ? this.value(value[attribute[2]]) : unknown(expression);
    }
    const local = /^local\.([a-z0-9_]+)$/.exec(expression);
    if (local?.[1]) {
      const value = this.tf.locals[local[1]];
      if (value === undefined) throw new Error(`terraform/ references undefined local.${local[1]}`);
      return this.value(value);
    }

    const call = asCall(expression);
    if (call && (call.name === 'tostring' || call.name === 'toset') && call.args[0] !== undefined) {
      const inner = this.expression(call.args[0]);
      return call.name === 'tostring' && typeof inner === 'number' ? String(inner) : inner;
    }
    if (call?.name === 'merge') {
      const merged: JsonObject = {};
      for (const arg of call.args) {
        const part = this.expression(arg);
        if (!isObject(part)) return unknown(expression);
        Object.assign(merged, part);
      }
      return merged;
    }
    if (expression.startsWith('[') && expression.endsWith(']')) {
      return splitArguments(expression.slice(1, -1)).map((item) => this.expression(item));
    }

    // Integer arithmetic over variables and locals, e.g. `var.worker_timeout_seconds + 30`.
    if (/[+\-*/]/.test(expression) && /^[\w.\s+\-*/()]+$/.test(expression)) {
      const substituted = expression.replace(/\b(var|local)\.[a-z0-9_]+\b/g, (reference) => {
        const resolved = this.expression(reference);
        return typeof resolved === 'number' ? String(resolved) : 'NaN';
      });
      if (/^[\d\s.+\-*/()]+$/.test(substituted)) return Number(new Function(`return (${substituted});`)());
    }
    return unknown(expression);
  }
}

function variableDefaults(tf: Terraform): Record<string, Json> {
  const defaults: Record<string, Json> = {};
  for (const [name, block] of tf.variables) if (block.default !== undefined) defaults[name] = block.default;
  return defaults;
}

// ---------------------------------------------------------------- facts about the functions

type Role = 'webhook' | 'worker';

interface FunctionFacts {
  label: string;
  block: Block;
  service: Block;
  /** Plain environment, resolved. */
  env: JsonObject;
  /** Secret environment variables: key -> the secret expression. */
  secrets: Map<string, string>;
  serviceAccountRef: string;
}

function functionFor(tf: Terraform, evaluator: Evaluator, role: Role): FunctionFacts {
  const matches = [...resourcesOf(tf, 'google_cloudfunctions2_function')].filter(
    ([, block]) => sub(block, 'build_config')?.entry_point === role,
  );
  expect(matches.map(([label]) => label), `exactly one google_cloudfunctions2_function with entry_point "${role}"`).toHaveLength(1);
  const [label, block] = matches[0] ?? ['', {}];
  const service = sub(block, 'service_config');
  if (!service) throw new Error(`google_cloudfunctions2_function.${label} has no service_config`);

  const secrets = new Map<string, string>();
  const secretBodies = [
    ...bodies(service.secret_environment_variables),
    ...bodies(sub(service, 'dynamic')?.secret_environment_variables).flatMap((dynamic) => bodies(dynamic.content)),
  ];
  for (const binding of secretBodies) {
    if (typeof binding.key === 'string' && typeof binding.secret === 'string') secrets.set(binding.key, binding.secret);
  }
  const email = service.service_account_email;
  const serviceAccountRef = typeof email === 'string' ? (/google_service_account\.([a-z0-9_]+)\.email/.exec(email)?.[1] ?? '') : '';
  return { label, block, service, env: evaluator.object(service.environment_variables), secrets, serviceAccountRef };
}

/** Required by the schema: the field rejects `undefined` (no default, not optional). */
function requiredKeys(shape: Readonly<Record<string, z.ZodType>>): string[] {
  return Object.entries(shape)
    .filter(([, field]) => !field.safeParse(undefined).success)
    .map(([key]) => key);
}

// ---------------------------------------------------------------- glob matching for excludes

function globToRegExp(glob: string): RegExp {
  let pattern = '';
  for (let i = 0; i < glob.length; i += 1) {
    const char = glob[i] ?? '';
    if (char === '*' && glob[i + 1] === '*') {
      pattern += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (char === '*') pattern += '[^/]*';
    else if (char === '?') pattern += '[^/]';
    else pattern += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}

/** archive_file (doublestar): a pattern matches the path or one of its parent directories. */
function archiveExcludes(patterns: string[], file: string): boolean {
  const segments = file.split('/');
  const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  return patterns.some((pattern) => prefixes.some((prefix) => globToRegExp(pattern).test(prefix)));
}

/** .gcloudignore (gitignore rules, without negation): a slash-less pattern matches at any depth. */
function gcloudIgnores(patterns: string[], file: string): boolean {
  const segments = file.split('/');
  const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  return patterns.some((raw) => {
    const anchored = raw.startsWith('/') || raw.replace(/\/$/, '').includes('/');
    const pattern = raw.replace(/^\//, '').replace(/\/$/, '');
    const regexp = globToRegExp(pattern);
    return prefixes.some((prefix) => regexp.test(anchored ? prefix : (prefix.split('/').pop() ?? '')));
  });
}

const SHIPPED = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'functions/index.ts',
  'functions/webhook/handler.ts',
  'shared/config/config.ts',
];
const NOT_SHIPPED = [
  'node_modules/zod/index.js',
  'dist/functions/index.js',
  'test/deploy/terraform.test.ts',
  'local/agent/localAgent.ts',
  'local/sandbox/page/chat.js',
  'scripts/start.ts',
  'shared/config/config.test.ts',
  'functions/worker/worker.test.ts',
  'terraform/main.tf',
  'terraform/.build/function-source.zip',
  'scripts/deploy.sh',
  'deploy.env',
  '.git/HEAD',
  '.env',
];

// ================================================================ the tests

let tf: Terraform;
let tfvarsExample: JsonObject;
let defaults: Record<string, Json>;

/** Scenarios whose values the configuration must satisfy. */
const SCENARIOS = ['variable defaults', 'terraform.tfvars.example'] as const;
type Scenario = (typeof SCENARIOS)[number] | 'shifted delivery settings';

function varsFor(scenario: Scenario): Record<string, Json> {
  const required = { project_id: 'example-project', agent_engine: 'projects/example-project/locations/us-central1/reasoningEngines/1' };
  if (scenario === 'terraform.tfvars.example') return { ...required, ...defaults, ...tfvarsExample };
  if (scenario === 'shifted delivery settings') {
    // Values no default uses: a setting hard-coded on one side of an "equals" shows up here.
    return { ...required, ...defaults, max_delivery_attempts: 37, worker_timeout_seconds: 421, agent_timeout_seconds: 399, ack_deadline_seconds: 599 };
  }
  return { ...required, ...defaults };
}

beforeAll(async () => {
  expect(existsSync(TF_DIR), 'terraform/ directory exists').toBe(true);
  tf = await loadTerraform();
  tfvarsExample = await loadTfvars(path.join(TF_DIR, 'terraform.tfvars.example'));
  defaults = variableDefaults(tf);
});

describe('terraform/ parses and is pinned', () => {
  it('has the expected files, each parsed by the HCL parser', () => {
    for (const file of ['versions.tf', 'variables.tf', 'outputs.tf']) expect([...tf.files.keys()]).toContain(file);
  });

  it('pins hashicorp/google and Terraform itself', () => {
    const providers = tf.terraformBlocks.flatMap((block) => bodies(block.required_providers));
    const google = providers.map((p) => p.google).find(isObject);
    expect(google?.source).toBe('hashicorp/google');
    expect(String(google?.version ?? ''), 'google provider version constraint').toMatch(/^(~>\s*\d+\.\d+|>=.*<.*)/);
    expect(tf.terraformBlocks.some((block) => typeof block.required_version === 'string')).toBe(true);
  });

  it('describes every variable, and validates every string and number variable', () => {
    for (const [name, block] of tf.variables) {
      expect(typeof block.description === 'string' && block.description.length > 10, `variable ${name} has a description`).toBe(true);
      expect(block.type, `variable ${name} has a type`).toBeDefined();
      if (block.type === '${string}' || block.type === '${number}') {
        expect(bodies(block.validation).length, `variable ${name} has a validation block`).toBeGreaterThan(0);
      }
    }
  });

  it('terraform.tfvars.example only sets declared variables', () => {
    for (const key of Object.keys(tfvarsExample)) expect([...tf.variables.keys()], `tfvars key ${key}`).toContain(key);
  });
});

describe('entry points', () => {
  it('terraform deploys the targets that functions/index.ts registers', () => {
    const indexFile = path.join(ROOT, 'functions/index.ts');
    if (!existsSync(indexFile)) {
      throw new Error(
        'functions/index.ts is missing: it must register the functions-framework targets with http(\'webhook\', …) and http(\'worker\', …) (package.json main = dist/functions/index.js)',
      );
    }
    const source = readFileSync(indexFile, 'utf8');
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    for (const role of ['webhook', 'worker'] as const) {
      functionFor(tf, evaluator, role);
      expect(source, `functions/index.ts registers http('${role}', …)`).toMatch(new RegExp(`\\bhttp\\(\\s*['"\`]${role}['"\`]`));
    }
  });

  it('package.json main points at the compiled functions/index.ts and the build compiles on deploy', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main?: string; scripts?: Record<string, string> };
    expect(pkg.main).toBe('dist/functions/index.js');
    expect(pkg.scripts?.['gcp-build'], 'gcp-build compiles TypeScript during the Cloud Build').toMatch(/build|tsc/);
    const buildConfig = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include?: string[] };
    expect(buildConfig.include).toContain('functions');
  });

  it('uses a runtime that satisfies package.json engines', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    for (const role of ['webhook', 'worker'] as const) {
      const runtime = evaluator.value(sub(functionFor(tf, evaluator, role).block, 'build_config')?.runtime);
      expect(['nodejs22', 'nodejs24']).toContain(runtime);
    }
  });
});

describe('environment contract', () => {
  const schemas = { webhook: webhookConfigSchema, worker: workerConfigSchema } as const;
  /** Set by the deployment although the schema has a default: the deployment decides them. */
  const deploymentDecides: Record<Role, string[]> = {
    webhook: ['PUBSUB_TOPIC', 'WHATSAPP_APP_SECRET'],
    worker: ['GRAPH_API_VERSION', 'MAX_DELIVERY_ATTEMPTS', 'PROCESSING_LEASE_SECONDS', 'AGENT_TIMEOUT_MS', 'PUSH_AUDIENCE'],
  };
  const secretNames = ['WHATSAPP_APP_SECRET', 'WHATSAPP_VERIFY_TOKEN', 'WHATSAPP_ACCESS_TOKEN', 'ADMIN_API_TOKEN'];
  /** Read by Node.js itself rather than by our config. */
  const runtimeNames = ['NODE_OPTIONS'];

  for (const role of ['webhook', 'worker'] as const) {
    it(`sets every variable the ${role} schema requires, plus the ones the deployment decides`, () => {
      const facts = functionFor(tf, new Evaluator(tf, varsFor('variable defaults')), role);
      const schemaKeys = Object.keys(schemas[role].shape);
      for (const key of deploymentDecides[role]) expect(schemaKeys, `${key} is a ${role} config field`).toContain(key);
      const needed = [...new Set([...requiredKeys(schemas[role].shape), ...deploymentDecides[role]])];
      expect(needed.length).toBeGreaterThan(1);
      const provided = new Set([...Object.keys(facts.env), ...facts.secrets.keys()]);
      for (const key of needed) expect(provided.has(key), `${role} gets ${key} from Terraform (env or secret)`).toBe(true);
    });

    it(`sets only names the ${role} reads, and secrets only as Secret Manager references`, () => {
      const facts = functionFor(tf, new Evaluator(tf, varsFor('variable defaults')), role);
      const known = [...Object.keys(schemas[role].shape), ...runtimeNames];
      for (const key of [...Object.keys(facts.env), ...facts.secrets.keys()]) expect(known, `${role} reads ${key}`).toContain(key);
      for (const key of secretNames) expect(Object.keys(facts.env), `${key} is not a plain env var of the ${role}`).not.toContain(key);
    });
  }

  for (const scenario of SCENARIOS) {
    it(`gives each function an environment its config schema accepts (${scenario})`, () => {
      const evaluator = new Evaluator(tf, varsFor(scenario));
      for (const role of ['webhook', 'worker'] as const) {
        const facts = functionFor(tf, evaluator, role);
        const env = { ...facts.env, ...Object.fromEntries([...facts.secrets.keys()].map((key) => [key, 'secret-value'])) };
        const result = schemas[role].safeParse(env);
        expect(result.success, `${role}: ${result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`).toBe(true);
      }
    });
  }

  it('gives each secret to the right function only', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const webhook = functionFor(tf, evaluator, 'webhook');
    const worker = functionFor(tf, evaluator, 'worker');
    expect([...webhook.secrets.keys()]).toEqual(expect.arrayContaining(['WHATSAPP_APP_SECRET', 'WHATSAPP_VERIFY_TOKEN']));
    expect([...webhook.secrets.keys()]).not.toContain('WHATSAPP_ACCESS_TOKEN');
    expect([...worker.secrets.keys()]).toEqual(['WHATSAPP_ACCESS_TOKEN']);
    expect(webhook.env.ALLOW_UNSIGNED_WEBHOOKS, 'production never allows unsigned webhooks').toBeUndefined();
  });

  it('publishes to the topic the worker subscription reads', () => {
    const evaluator = new Evaluator(tf, varsFor('terraform.tfvars.example'));
    const webhook = functionFor(tf, evaluator, 'webhook');
    const push = pushSubscription(tf);
    const topicLabel = /google_pubsub_topic\.([a-z0-9_]+)\./.exec(String(push.topic))?.[1] ?? '';
    expect(webhook.env.PUBSUB_TOPIC).toBe(evaluator.value(resource(tf, 'google_pubsub_topic', topicLabel).name));
  });
});

function pushSubscription(tf: Terraform): Block {
  const pushes = [...resourcesOf(tf, 'google_pubsub_subscription').values()].filter((block) => sub(block, 'push_config'));
  expect(pushes, 'exactly one push subscription').toHaveLength(1);
  return pushes[0] ?? {};
}

describe('delivery settings', () => {
  for (const scenario of [...SCENARIOS, 'shifted delivery settings'] as const) {
    describe(`with ${scenario}`, () => {
      it('dead_letter_policy.max_delivery_attempts equals the worker MAX_DELIVERY_ATTEMPTS', () => {
        const evaluator = new Evaluator(tf, varsFor(scenario));
        const attempts = evaluator.number(sub(pushSubscription(tf), 'dead_letter_policy')?.max_delivery_attempts);
        expect(Number(functionFor(tf, evaluator, 'worker').env.MAX_DELIVERY_ATTEMPTS)).toBe(attempts);
        expect(attempts).toBeGreaterThanOrEqual(5);
        expect(attempts).toBeLessThanOrEqual(100);
      });

      it('PROCESSING_LEASE_SECONDS outlasts the worker timeout, AGENT_TIMEOUT_MS fits inside it', () => {
        const evaluator = new Evaluator(tf, varsFor(scenario));
        const worker = functionFor(tf, evaluator, 'worker');
        const timeout = evaluator.number(worker.service.timeout_seconds);
        expect(Number(worker.env.PROCESSING_LEASE_SECONDS)).toBeGreaterThan(timeout);
        expect(Number(worker.env.AGENT_TIMEOUT_MS)).toBeLessThan(timeout * 1000);
      });

      it('PUSH_AUDIENCE is the audience of the push OIDC token', () => {
        const evaluator = new Evaluator(tf, varsFor(scenario));
        const oidc = sub(pushSubscription(tf), 'push_config', 'oidc_token');
        expect(oidc, 'push_config.oidc_token').toBeDefined();
        const audience = evaluator.value(oidc?.audience);
        expect(String(audience)).toMatch(/^https:\/\//);
        expect(functionFor(tf, evaluator, 'worker').env.PUSH_AUDIENCE).toBe(audience);
      });
    });
  }

  for (const scenario of SCENARIOS) {
    it(`ack deadline exceeds the worker timeout (${scenario})`, () => {
      const evaluator = new Evaluator(tf, varsFor(scenario));
      const ack = evaluator.number(pushSubscription(tf).ack_deadline_seconds);
      const timeout = evaluator.number(functionFor(tf, evaluator, 'worker').service.timeout_seconds);
      expect(ack).toBeGreaterThan(timeout);
      expect(ack).toBeLessThanOrEqual(600);
    });
  }

  it('guards ack deadline > worker timeout with a precondition for any tfvars', () => {
    const conditions = bodies(sub(pushSubscription(tf), 'lifecycle')?.precondition).map((p) => String(p.condition));
    expect(conditions.some((c) => /ack_deadline_seconds\s*>\s*var\.worker_timeout_seconds/.test(c))).toBe(true);
  });

  it('orders messages, retries with exponential backoff and pushes with an OIDC token', () => {
    const push = pushSubscription(tf);
    expect(push.enable_message_ordering).toBe(true);
    const retry = sub(push, 'retry_policy');
    expect(retry?.minimum_backoff, 'retry_policy.minimum_backoff').toBeDefined();
    expect(retry?.maximum_backoff, 'retry_policy.maximum_backoff').toBeDefined();
    expect(String(sub(push, 'push_config', 'oidc_token')?.service_account_email)).toMatch(/google_service_account\.[a-z0-9_]+\.email/);
  });

  it('keeps dead letters 7 days in a pull subscription on the dead-letter topic', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const dlqTopic = /google_pubsub_topic\.([a-z0-9_]+)\./.exec(String(sub(pushSubscription(tf), 'dead_letter_policy')?.dead_letter_topic))?.[1];
    expect(dlqTopic, 'dead_letter_policy.dead_letter_topic references a google_pubsub_topic').toBeDefined();
    const dlqSubs = [...resourcesOf(tf, 'google_pubsub_subscription').values()].filter((block) =>
      String(block.topic).includes(`google_pubsub_topic.${dlqTopic}.`),
    );
    expect(dlqSubs, 'one subscription on the dead-letter topic').toHaveLength(1);
    const dlq = dlqSubs[0] ?? {};
    expect(sub(dlq, 'push_config'), 'the dead-letter subscription is pull').toBeUndefined();
    expect(evaluator.value(dlq.message_retention_duration)).toBe('604800s');
  });

  it('lets the Pub/Sub service agent dead-letter (publisher on the DLQ topic, subscriber on the source)', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const isAgent = (member: Json | undefined) => String(evaluator.value(member)).includes('@gcp-sa-pubsub.iam.gserviceaccount.com');
    const dlqTopic = /google_pubsub_topic\.([a-z0-9_]+)\./.exec(String(sub(pushSubscription(tf), 'dead_letter_policy')?.dead_letter_topic))?.[1];
    const publisher = [...resourcesOf(tf, 'google_pubsub_topic_iam_member').values()].find(
      (b) => String(b.topic).includes(`google_pubsub_topic.${dlqTopic}.`) && b.role === 'roles/pubsub.publisher' && isAgent(b.member),
    );
    expect(publisher, 'roles/pubsub.publisher for the service agent on the dead-letter topic').toBeDefined();
    const pushLabel = [...resourcesOf(tf, 'google_pubsub_subscription')].find(([, b]) => sub(b, 'push_config'))?.[0];
    const subscriber = [...resourcesOf(tf, 'google_pubsub_subscription_iam_member').values()].find(
      (b) => String(b.subscription).includes(`google_pubsub_subscription.${pushLabel}.`) && b.role === 'roles/pubsub.subscriber' && isAgent(b.member),
    );
    expect(subscriber, 'roles/pubsub.subscriber for the service agent on the push subscription').toBeDefined();
  });
});

describe('IAM', () => {
  interface Binding {
    address: string;
    role: string;
    members: string[];
    target: string;
  }

  function bindings(): Binding[] {
    const out: Binding[] = [];
    for (const [type, byName] of tf.resources) {
      for (const [label, block] of byName) {
        const members = [...allStrings(block.member), ...allStrings(block.members)];
        if (members.length === 0 || block.role === undefined) continue;
        const target = ['name', 'service', 'cloud_function', 'topic', 'subscription', 'secret_id', 'service_account_id', 'reasoning_engine', 'project']
          .map((key) => JSON.stringify(block[key] ?? ''))
          .join(' ');
        out.push({ address: `${type}.${label}`, role: String(block.role), members, target });
      }
    }
    return out;
  }

  const functionLabel = (role: Role) => functionFor(tf, new Evaluator(tf, varsFor('variable defaults')), role).label;
  const targets = (binding: Binding, role: Role) => binding.target.includes(`google_cloudfunctions2_function.${functionLabel(role)}.`);
  const isPublic = (binding: Binding) => binding.members.some((m) => m === 'allUsers' || m === 'allAuthenticatedUsers');

  it('grants no basic role (owner, editor) anywhere', () => {
    for (const [file, parsed] of tf.files) {
      for (const text of allStrings(parsed)) expect(text, `in ${file}`).not.toMatch(/roles\/(owner|editor)\b/);
    }
  });

  it('keeps the worker private and makes the webhook public', () => {
    const all = bindings();
    expect(all.filter((b) => targets(b, 'worker') && isPublic(b)).map((b) => b.address), 'public bindings on the worker').toEqual([]);
    expect(all.some((b) => targets(b, 'webhook') && isPublic(b) && b.role === 'roles/run.invoker'), 'allUsers may invoke the webhook').toBe(true);
  });

  it('lets the push service account invoke the worker and do nothing else', () => {
    const pushSa = /google_service_account\.([a-z0-9_]+)\.email/.exec(String(sub(pushSubscription(tf), 'push_config', 'oidc_token')?.service_account_email))?.[1];
    const granted = bindings().filter((b) => b.members.some((m) => m.includes(`google_service_account.${pushSa}.`)));
    expect(granted.length).toBeGreaterThan(0);
    for (const binding of granted) {
      expect(binding.role, binding.address).toBe('roles/run.invoker');
      expect(targets(binding, 'worker'), `${binding.address} targets the worker`).toBe(true);
    }
  });

  it('runs each function as its own service account, with access to its own secrets', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const webhook = functionFor(tf, evaluator, 'webhook');
    const worker = functionFor(tf, evaluator, 'worker');
    expect(webhook.serviceAccountRef).not.toBe('');
    expect(worker.serviceAccountRef).not.toBe('');
    expect(webhook.serviceAccountRef).not.toBe(worker.serviceAccountRef);
    const accessors = [...resourcesOf(tf, 'google_secret_manager_secret_iam_member').values()];
    for (const facts of [webhook, worker]) {
      for (const [key, secretExpression] of facts.secrets) {
        const secret = /google_secret_manager_secret\.([a-z0-9_]+)/.exec(secretExpression)?.[1];
        const granted = accessors.some(
          (b) =>
            String(b.secret_id).includes(`google_secret_manager_secret.${secret}`) &&
            b.role === 'roles/secretmanager.secretAccessor' &&
            String(b.member).includes(`google_service_account.${facts.serviceAccountRef}.`),
        );
        expect(granted, `${facts.label} may read the secret behind ${key}`).toBe(true);
      }
    }
  });

  it('lets the webhook publish to the inbound topic', () => {
    const webhookSa = functionFor(tf, new Evaluator(tf, varsFor('variable defaults')), 'webhook').serviceAccountRef;
    const inbound = /google_pubsub_topic\.([a-z0-9_]+)\./.exec(String(pushSubscription(tf).topic))?.[1];
    const publisher = bindings().find(
      (b) =>
        b.target.includes(`google_pubsub_topic.${inbound}.`) &&
        b.role === 'roles/pubsub.publisher' &&
        b.members.some((m) => m.includes(`google_service_account.${webhookSa}.`)),
    );
    expect(publisher).toBeDefined();
  });
});

describe('secrets', () => {
  it('binds every secret env var to a google_secret_manager_secret defined here', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const defined = resourcesOf(tf, 'google_secret_manager_secret');
    for (const role of ['webhook', 'worker'] as const) {
      for (const [key, expression] of functionFor(tf, evaluator, role).secrets) {
        const label = /^\$\{google_secret_manager_secret\.([a-z0-9_]+)(\[0\])?\.secret_id\}$/.exec(expression)?.[1];
        expect(label, `${role} ${key} references a google_secret_manager_secret (got ${expression})`).toBeDefined();
        expect(defined.has(label ?? ''), `google_secret_manager_secret.${label} exists`).toBe(true);
      }
    }
  });

  it('references only secrets that exist, and never holds a secret value', () => {
    const defined = resourcesOf(tf, 'google_secret_manager_secret');
    for (const [file, parsed] of tf.files) {
      for (const text of allStrings(parsed)) {
        for (const match of text.matchAll(/google_secret_manager_secret\.([a-z0-9_]+)/g)) {
          expect(defined.has(match[1] ?? ''), `${file} references google_secret_manager_secret.${match[1]}`).toBe(true);
        }
      }
      expect(JSON.stringify(parsed), `${file} has no secret payload`).not.toMatch(/secret_data|google_secret_manager_secret_version/);
    }
  });

  it('creates the access token, app secret, verify token and admin token secrets', () => {
    expect([...resourcesOf(tf, 'google_secret_manager_secret').keys()].sort()).toEqual(
      ['access_token', 'admin_api_token', 'app_secret', 'verify_token'].sort(),
    );
  });
});

describe('Firestore', () => {
  it('has a TTL policy on expiresAt for every collection with an expiry', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const collections = new Set<string>();
    for (const block of resourcesOf(tf, 'google_firestore_field').values()) {
      if (evaluator.value(block.field) !== 'expiresAt' || !sub(block, 'ttl_config')) continue;
      const each = block.for_each === undefined ? [evaluator.value(block.collection)] : evaluator.value(block.for_each);
      for (const name of Array.isArray(each) ? each : []) collections.add(String(name));
    }
    expect([...collections].sort()).toEqual(
      ['conversation_windows', 'held_replies', 'inbound_messages', 'outbound_messages', 'proactive_requests', 'rate_limits', 'whatsapp_sessions'],
    );
    // An opt-out lasts until the user opts back in: never expired by TTL.
    expect(collections.has('opt_outs')).toBe(false);
  });
});

describe('source archive', () => {
  it('names the uploaded object after the archive md5, so a code change redeploys', () => {
    const object = [...resourcesOf(tf, 'google_storage_bucket_object').values()];
    expect(object.some((b) => /\$\{data\.archive_file\.[a-z0-9_]+\.output_md5\}/.test(String(b.name)))).toBe(true);
  });

  it('leaves tests, dependencies and dev files out of the Terraform archive', () => {
    const archives = [...(tf.dataSources.get('archive_file') ?? new Map<string, Block>()).values()];
    expect(archives, 'one data "archive_file"').toHaveLength(1);
    const archive = archives[0];
    expect(String(archive?.source_dir)).toBe('${path.module}/..');
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const excludes = evaluator.value(archive?.excludes);
    expect(Array.isArray(excludes), 'archive_file.excludes is a list').toBe(true);
    const patterns = (Array.isArray(excludes) ? excludes : []).map(String);
    for (const file of SHIPPED) expect(archiveExcludes(patterns, file), `archive keeps ${file}`).toBe(false);
    for (const file of NOT_SHIPPED) expect(archiveExcludes(patterns, file), `archive drops ${file}`).toBe(true);
  });

  it('leaves the same files out of a gcloud deploy (.gcloudignore)', () => {
    const ignoreFile = path.join(ROOT, '.gcloudignore');
    expect(existsSync(ignoreFile), '.gcloudignore exists').toBe(true);
    const patterns = readFileSync(ignoreFile, 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(patterns.some((p) => p.startsWith('!')), '.gcloudignore uses no negation (this check does not model it)').toBe(false);
    for (const file of SHIPPED) expect(gcloudIgnores(patterns, file), `gcloud deploy keeps ${file}`).toBe(false);
    for (const file of NOT_SHIPPED) expect(gcloudIgnores(patterns, file), `gcloud deploy drops ${file}`).toBe(true);
  });
});

describe('alerts', () => {
  const policies = () => [...resourcesOf(tf, 'google_monitoring_alert_policy').values()];
  const filters = (policy: Block) => bodies(policy.conditions).flatMap((c) => bodies(c.condition_threshold)).map((t) => String(t.filter));

  function logMetricFilter(policy: Block): string {
    const metric = filters(policy)
      .map((f) => /logging\.googleapis\.com\/user\/\$\{google_logging_metric\.([a-z0-9_]+)\.name\}/.exec(f)?.[1])
      .find(Boolean);
    return metric ? String(resource(tf, 'google_logging_metric', metric).filter) : '';
  }

  it('alerts on dead-lettered messages', () => {
    expect(policies().some((p) => filters(p).some((f) => f.includes('subscription/dead_letter_message_count')))).toBe(true);
  });

  it('alerts on the worker error rate', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const worker = evaluator.value(functionFor(tf, evaluator, 'worker').block.name);
    const errorPolicy = policies().find((p) => filters(p).some((f) => f.includes('run.googleapis.com/request_count') && f.includes('5xx')));
    expect(errorPolicy).toBeDefined();
    expect(filters(errorPolicy ?? {}).map((f) => String(evaluator.value(f))).join(' ')).toContain(`service_name="${String(worker)}"`);
  });

  it('alerts on Graph API token errors (code 190) through a log-based metric on the worker', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const worker = String(evaluator.value(functionFor(tf, evaluator, 'worker').block.name));
    const metricFilter = policies().map(logMetricFilter).find((f) => f.includes('graphErrorCode=190'));
    expect(metricFilter).toBeDefined();
    expect(String(evaluator.value(metricFilter ?? ''))).toContain(`service_name="${worker}"`);
  });

  it('alerts on webhook signature failures through a log-based metric on the webhook', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const webhook = String(evaluator.value(functionFor(tf, evaluator, 'webhook').block.name));
    const metricFilter = policies().map(logMetricFilter).find((f) => f.includes('webhook signature rejected'));
    expect(metricFilter).toBeDefined();
    expect(metricFilter).toContain('severity=WARNING');
    expect(String(evaluator.value(metricFilter ?? ''))).toContain(`service_name="${webhook}"`);
  });

  it('alerts on failed deliveries by failure class, through a labelled log-based metric on the worker', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const worker = String(evaluator.value(functionFor(tf, evaluator, 'worker').block.name));
    const metric = resource(tf, 'google_logging_metric', 'delivery_failures');
    expect(String(evaluator.value(metric.filter))).toContain(`service_name="${worker}"`);
    expect(String(metric.filter)).toContain('delivery failure recorded');
    expect(JSON.stringify(metric.label_extractors)).toContain('EXTRACT(jsonPayload.failureClass)');
    const policy = resource(tf, 'google_monitoring_alert_policy', 'delivery_failures');
    expect(filters(policy).join(' ')).toContain('metric.label.failure_class');
    const classes = Object.keys(evaluator.value(tf.locals.delivery_failure_alerts) as Record<string, unknown>).sort();
    expect(classes).toEqual(['auth_or_policy', 'ecosystem', 'rate_limit', 'template', 'undeliverable', 'window']);
  });

  it('sends every alert to the configured notification channels', () => {
    for (const policy of policies()) expect(String(policy.notification_channels)).toContain('local.notification_channels');
    expect(String(tf.locals.notification_channels)).toContain('var.notification_channels');
  });
});

describe('outputs', () => {
  it('gives the callback URL, the verify-token secret and the dead-letter subscription', () => {
    const value = (name: string) => {
      const output = tf.outputs.get(name);
      expect(output, `output ${name}`).toBeDefined();
      return String(output?.value);
    };
    const webhookLabel = functionFor(tf, new Evaluator(tf, varsFor('variable defaults')), 'webhook').label;
    expect(value('callback_url')).toContain(`google_cloudfunctions2_function.${webhookLabel}.`);
    expect(value('verify_token_secret')).toBe('${google_secret_manager_secret.verify_token.secret_id}');
    const dlqLabel = [...resourcesOf(tf, 'google_pubsub_subscription')].find(([, b]) => !sub(b, 'push_config'))?.[0];
    expect(value('dlq_subscription')).toContain(`google_pubsub_subscription.${dlqLabel}.`);
  });
});
