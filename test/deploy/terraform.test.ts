import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ZodMiniType } from 'zod/mini';
import { webhookConfigSchema, workerConfigSchema } from '../../shared/config/config.js';
import {
  allStrings,
  bodies,
  type Block,
  Evaluator,
  functionFor,
  instancesOf,
  isObject,
  type Json,
  type JsonObject,
  loadTerraform,
  loadTfvars,
  resource,
  resourcesOf,
  ROLES,
  type Role,
  ROOT,
  sub,
  type Terraform,
  TF_DIR,
  variableDefaults,
} from './terraformConfig.js';

/*
 * Invariants of terraform/ that no `terraform validate` would catch, checked here because this
 * machine has no Google provider and no cloud: every .tf file is parsed with the real HCL parser
 * and its values are resolved from variable defaults and from terraform.tfvars.example
 * (terraformConfig.ts).
 */

/** Required by the schema: the field rejects `undefined` (no default, not optional). */
function requiredKeys(shape: Readonly<Record<string, ZodMiniType>>): string[] {
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
  'esbuild.config.mjs',
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
type Scenario = (typeof SCENARIOS)[number] | 'shifted delivery settings' | 'admin routes on';

function varsFor(scenario: Scenario): Record<string, Json> {
  const required = { project_id: 'example-project', agent_engine: 'projects/example-project/locations/us-central1/reasoningEngines/1' };
  if (scenario === 'terraform.tfvars.example') return { ...required, ...defaults, ...tfvarsExample };
  if (scenario === 'shifted delivery settings') {
    // Values no default uses: a setting hard-coded on one side of an "equals" shows up here.
    return { ...required, ...defaults, max_delivery_attempts: 37, worker_timeout_seconds: 421, agent_timeout_seconds: 399, ack_deadline_seconds: 599 };
  }
  if (scenario === 'admin routes on') return { ...required, ...defaults, enable_admin_api: true };
  return { ...required, ...defaults };
}

/** The label of the google_secret_manager_secret whose secret_id is `secretId`. */
function secretLabel(secretId: string, evaluator: Evaluator): string | undefined {
  return [...resourcesOf(tf, 'google_secret_manager_secret')].find(([, block]) => evaluator.value(block.secret_id) === secretId)?.[0];
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

  it('package.json main points at the bundle of functions/index.ts and the build type-checks and bundles on deploy', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main?: string; scripts?: Record<string, string> };
    expect(pkg.main).toBe('dist/functions/index.js');
    expect(pkg.scripts?.['gcp-build'], 'gcp-build builds during the Cloud Build').toBe('npm run build');
    expect(pkg.scripts?.build, 'the build type-checks, then bundles').toMatch(/^tsc -p tsconfig\.build\.json --noEmit && node esbuild\.config\.mjs$/);
    const bundler = readFileSync(path.join(ROOT, 'esbuild.config.mjs'), 'utf8');
    expect(bundler, 'the bundle is written where main points').toMatch(/entryPoints: \{ index: 'functions\/index\.ts' \}[\s\S]*outdir: 'dist\/functions'/);
    expect(bundler, 'functions-framework stays a package: the bundle registers into the CLI\'s registry').toMatch(/EXTERNAL = \[[^\]]*'@google-cloud\/\*'/);
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
  /** Read by Node.js and Express (inside functions-framework) rather than by our config. */
  const runtimeNames = ['NODE_OPTIONS', 'NODE_ENV'];

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

  it('runs both functions with NODE_ENV=production (no stack traces in error pages)', () => {
    for (const scenario of [...SCENARIOS, 'admin routes on'] as const) {
      for (const role of ROLES) {
        expect(functionFor(tf, new Evaluator(tf, varsFor(scenario)), role).env.NODE_ENV, `${scenario}: ${role}`).toBe('production');
      }
    }
  });

  for (const role of ROLES) {
    it(`refuses a ${role}_extra_env that overrides any variable Terraform sets for the ${role}`, () => {
      const variable = `${role}_extra_env`;
      const preconditions = bodies(sub(functionFor(tf, new Evaluator(tf, varsFor('variable defaults')), role).block, 'lifecycle')?.precondition);
      const guard = preconditions.find((p) => String(p.condition).includes(`var.${variable}`));
      expect(guard, `a precondition on the ${role} function checks var.${variable}`).toBeDefined();
      const accepts = (extra: Record<string, string>, scenario: 'variable defaults' | 'admin routes on' = 'variable defaults') =>
        new Evaluator(tf, { ...varsFor(scenario), [variable]: extra }).value(guard?.condition);

      expect(accepts({ SOME_TUNING_KNOB: '1' }), 'an unrelated variable is accepted').toBe(true);
      for (const scenario of ['variable defaults', 'admin routes on'] as const) {
        const facts = functionFor(tf, new Evaluator(tf, varsFor(scenario)), role);
        const owned = [...Object.keys(facts.env), ...facts.secrets.keys()];
        expect(owned).toContain('NODE_OPTIONS');
        for (const key of owned) expect(accepts({ [key]: 'x' }, scenario), `${scenario}: ${variable} may not set ${key}`).toBe(false);
      }
      const switches = ['ALLOW_UNSIGNED_WEBHOOKS', 'PUBSUB_EMULATOR_HOST', 'FIRESTORE_EMULATOR_HOST', ...(role === 'webhook' ? ['ADMIN_API_TOKEN'] : [])];
      for (const key of switches) expect(accepts({ [key]: 'x' }), `${variable} may not set ${key}, even with the admin routes off`).toBe(false);
    });
  }

  it('gives each secret to the right function only', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const webhook = functionFor(tf, evaluator, 'webhook');
    const worker = functionFor(tf, evaluator, 'worker');
    expect([...webhook.secrets.keys()]).toEqual(expect.arrayContaining(['WHATSAPP_APP_SECRET', 'WHATSAPP_VERIFY_TOKEN']));
    expect([...webhook.secrets.keys()]).not.toContain('WHATSAPP_ACCESS_TOKEN');
    expect([...worker.secrets.keys()]).toEqual(['WHATSAPP_ACCESS_TOKEN']);
    // With the admin routes on, the webhook sends proactive messages (POST /whatsapp/messages).
    const admin = functionFor(tf, new Evaluator(tf, varsFor('admin routes on')), 'webhook');
    expect([...admin.secrets.keys()]).toEqual(expect.arrayContaining(['ADMIN_API_TOKEN', 'WHATSAPP_ACCESS_TOKEN']));
    expect(webhook.env.ALLOW_UNSIGNED_WEBHOOKS, 'production never allows unsigned webhooks').toBeUndefined();
  });

  it('publishes to the topic the worker subscription reads', () => {
    const evaluator = new Evaluator(tf, varsFor('terraform.tfvars.example'));
    const webhook = functionFor(tf, evaluator, 'webhook');
    expect(pushSubscriptions(evaluator).inbound.body.topic).toBe(topicId(evaluator, webhook.env.PUBSUB_TOPIC));
  });
});

interface Subscription {
  address: string;
  /** The resource block as written (one block may describe several subscriptions with for_each). */
  block: Block;
  /** This subscription's arguments, evaluated. */
  body: JsonObject;
}

function subscriptions(evaluator: Evaluator): Subscription[] {
  return [...resourcesOf(tf, 'google_pubsub_subscription')].flatMap(([label, block]) =>
    [...evaluator.instances(block)].map(([key, body]) => ({ address: key === undefined ? label : `${label}["${key}"]`, block, body })),
  );
}

const topicId = (evaluator: Evaluator, name: Json | undefined) => `projects/${String(evaluator.expression('var.project_id'))}/topics/${String(name)}`;
const subscriptionId = (evaluator: Evaluator, name: Json | undefined) => topicId(evaluator, name).replace('/topics/', '/subscriptions/');

/** The push subscription of the inbound topic and the one that brings the worker its turns. */
function pushSubscriptions(evaluator: Evaluator): { inbound: Subscription; turns: Subscription } {
  const turnsTopic = topicId(evaluator, evaluator.value(resource(tf, 'google_pubsub_topic', 'turns').name));
  const pushes = subscriptions(evaluator).filter((s) => sub(s.body, 'push_config'));
  const inbound = pushes.filter((s) => s.body.topic !== turnsTopic);
  const turns = subscriptions(evaluator).filter((s) => s.body.topic === turnsTopic);
  expect(inbound.map((s) => s.address), 'exactly one push subscription on the inbound topic').toHaveLength(1);
  expect(turns.map((s) => s.address), 'exactly one subscription on the turns topic').toHaveLength(1);
  return { inbound: inbound[0]!, turns: turns[0]! };
}

/** The subscriptions on the dead-letter topic of a push subscription. */
function deadLetterSubscriptions(evaluator: Evaluator, push: Subscription): Subscription[] {
  const dlqTopic = sub(push.body, 'dead_letter_policy')?.dead_letter_topic;
  expect(String(dlqTopic), `${push.address}: dead_letter_policy.dead_letter_topic is a topic`).toMatch(/^projects\/[^/]+\/topics\/[^/<]+$/);
  return subscriptions(evaluator).filter((s) => s.body.topic === dlqTopic);
}

describe('delivery settings', () => {
  for (const scenario of [...SCENARIOS, 'shifted delivery settings'] as const) {
    describe(`with ${scenario}`, () => {
      it('dead_letter_policy.max_delivery_attempts equals the worker MAX_DELIVERY_ATTEMPTS', () => {
        const evaluator = new Evaluator(tf, varsFor(scenario));
        const attempts = evaluator.number(sub(pushSubscriptions(evaluator).inbound.body, 'dead_letter_policy')?.max_delivery_attempts);
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
        // The worker checks its time budget against the timeout it really runs under.
        expect(Number(worker.env.WORKER_TIMEOUT_SECONDS)).toBe(timeout);
      });

      it('PUSH_AUDIENCE is the audience of the push OIDC token', () => {
        const evaluator = new Evaluator(tf, varsFor(scenario));
        const oidc = sub(pushSubscriptions(evaluator).inbound.body, 'push_config', 'oidc_token');
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
      const ack = evaluator.number(pushSubscriptions(evaluator).inbound.body.ack_deadline_seconds);
      const timeout = evaluator.number(functionFor(tf, evaluator, 'worker').service.timeout_seconds);
      expect(ack).toBeGreaterThan(timeout);
      expect(ack).toBeLessThanOrEqual(600);
    });
  }

  it("guards the worker's time budget < its timeout with a precondition for any tfvars (timeBudget.test.ts evaluates it)", () => {
    const worker = functionFor(tf, new Evaluator(tf, varsFor('variable defaults')), 'worker');
    const preconditions = bodies(sub(worker.block, 'lifecycle')?.precondition);
    expect(preconditions.map((p) => String(p.condition))).toContainEqual(expect.stringMatching(/^\$\{local\.worker_time_budget_problem == null\}$|^local\.worker_time_budget_problem == null$/));
  });

  it('guards ack deadline > worker timeout with a precondition for any tfvars', () => {
    const { block } = pushSubscriptions(new Evaluator(tf, varsFor('variable defaults'))).inbound;
    const conditions = bodies(sub(block, 'lifecycle')?.precondition).map((p) => String(p.condition));
    expect(conditions.some((c) => /ack_deadline_seconds\s*>\s*var\.worker_timeout_seconds/.test(c))).toBe(true);
  });

  it('orders messages, retries with exponential backoff and pushes with an OIDC token', () => {
    const push = pushSubscriptions(new Evaluator(tf, varsFor('variable defaults'))).inbound;
    expect(push.body.enable_message_ordering).toBe(true);
    const retry = sub(push.body, 'retry_policy');
    expect(retry?.minimum_backoff, 'retry_policy.minimum_backoff').toMatch(/^\d+s$/);
    expect(retry?.maximum_backoff, 'retry_policy.maximum_backoff').toMatch(/^\d+s$/);
    expect(String(sub(push.block, 'push_config', 'oidc_token')?.service_account_email)).toMatch(/google_service_account\.[a-z0-9_]+\.email/);
  });

  it('keeps dead letters 7 days in a pull subscription on the dead-letter topic', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const dlqSubs = deadLetterSubscriptions(evaluator, pushSubscriptions(evaluator).inbound);
    expect(dlqSubs.map((s) => s.address), 'one subscription on the dead-letter topic').toHaveLength(1);
    const dlq = dlqSubs[0]!.body;
    expect(sub(dlq, 'push_config'), 'the dead-letter subscription is pull').toBeUndefined();
    expect(dlq.message_retention_duration).toBe('604800s');
  });

  it('lets the Pub/Sub service agent dead-letter (publisher on the DLQ topic, subscriber on the source)', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const isAgent = (member: Json | undefined) => String(member).includes('@gcp-sa-pubsub.iam.gserviceaccount.com');
    for (const push of Object.values(pushSubscriptions(evaluator))) {
      const dlqTopic = sub(push.body, 'dead_letter_policy')?.dead_letter_topic;
      const publisher = [...instancesOf(tf, evaluator, 'google_pubsub_topic_iam_member').values()].find(
        (b) => b.topic === dlqTopic && b.role === 'roles/pubsub.publisher' && isAgent(b.member),
      );
      expect(publisher, `${push.address}: roles/pubsub.publisher for the service agent on the dead-letter topic`).toBeDefined();
      const subscriber = [...instancesOf(tf, evaluator, 'google_pubsub_subscription_iam_member').values()].find(
        (b) => b.subscription === subscriptionId(evaluator, push.body.name) && b.role === 'roles/pubsub.subscriber' && isAgent(b.member),
      );
      expect(subscriber, `${push.address}: roles/pubsub.subscriber for the service agent on the push subscription`).toBeDefined();
    }
  });
});

describe('bursts: the turns topic', () => {
  it('pushes turns to the worker like messages: ordered, same deadline, retries and attempts, its own kept dead letters', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const { inbound, turns } = pushSubscriptions(evaluator);
    expect(turns.body.enable_message_ordering).toBe(true);
    expect(sub(turns.body, 'push_config')?.push_endpoint).toBe(sub(inbound.body, 'push_config')?.push_endpoint);
    for (const key of ['ack_deadline_seconds'] as const) expect(turns.body[key]).toBe(inbound.body[key]);
    expect(evaluator.number(sub(turns.body, 'dead_letter_policy')?.max_delivery_attempts)).toBe(
      Number(functionFor(tf, evaluator, 'worker').env.MAX_DELIVERY_ATTEMPTS),
    );
    expect(sub(turns.body, 'dead_letter_policy')?.dead_letter_topic).not.toBe(sub(inbound.body, 'dead_letter_policy')?.dead_letter_topic);
    const kept = deadLetterSubscriptions(evaluator, turns);
    expect(kept).toHaveLength(1);
    expect(kept[0]!.body.message_retention_duration).toBe('604800s');
  });

  it('tells the worker the topic and the burst settings, lets it publish there, and expires burst buffers', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const worker = functionFor(tf, evaluator, 'worker');
    expect(worker.env).toMatchObject({ BURST_WINDOW_MS: '2000', BURST_MAX_WAIT_MS: '8000' });
    expect(worker.env.PUBSUB_TURNS_TOPIC).toBe(evaluator.value(resource(tf, 'google_pubsub_topic', 'turns').name));
    const publisher = [...resourcesOf(tf, 'google_pubsub_topic_iam_member').values()].find(
      (b) => String(b.topic).includes('google_pubsub_topic.turns.') && b.role === 'roles/pubsub.publisher',
    );
    expect(String(publisher?.member)).toContain(`google_service_account.${worker.serviceAccountRef}.`);
    expect(String(tf.locals.ttl_collections)).toContain('burst_buffers');
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
    const { block } = pushSubscriptions(new Evaluator(tf, varsFor('variable defaults'))).inbound;
    const pushSa = /google_service_account\.([a-z0-9_]+)\.email/.exec(String(sub(block, 'push_config', 'oidc_token')?.service_account_email))?.[1];
    const granted = bindings().filter((b) => b.members.some((m) => m.includes(`google_service_account.${pushSa}.`)));
    expect(granted.length).toBeGreaterThan(0);
    for (const binding of granted) {
      expect(binding.role, binding.address).toBe('roles/run.invoker');
      expect(targets(binding, 'worker'), `${binding.address} targets the worker`).toBe(true);
    }
  });

  it('runs each function as its own service account, with access to its own secrets', () => {
    const evaluator = new Evaluator(tf, varsFor('admin routes on'));
    const webhook = functionFor(tf, evaluator, 'webhook');
    const worker = functionFor(tf, evaluator, 'worker');
    expect(webhook.serviceAccountRef).not.toBe('');
    expect(worker.serviceAccountRef).not.toBe('');
    expect(webhook.serviceAccountRef).not.toBe(worker.serviceAccountRef);
    const accessors = [...resourcesOf(tf, 'google_secret_manager_secret_iam_member').values()];
    for (const facts of [webhook, worker]) {
      for (const [key, secretId] of facts.secrets) {
        const secret = secretLabel(secretId, evaluator);
        expect(secret, `${facts.label} ${key}: secret ${secretId} is defined here`).toBeDefined();
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

  it('gives the webhook, with the admin routes on, only document access on the bridge database', () => {
    const evaluator = new Evaluator(tf, varsFor('admin routes on'));
    const webhookSa = functionFor(tf, evaluator, 'webhook').serviceAccountRef;
    const projectGrants = [...resourcesOf(tf, 'google_project_iam_member').entries()].filter(([, b]) =>
      String(b.member).includes(`google_service_account.${webhookSa}.`),
    );
    const firestore = projectGrants.filter(([, b]) => /datastore|firestore|session_admin/.test(String(b.role)));
    expect(firestore.map(([label]) => label), 'one Firestore grant for the webhook').toHaveLength(1);
    const [, grant = {}] = firestore[0] ?? [];
    const role = /google_project_iam_custom_role\.([a-z0-9_]+)/.exec(String(grant.role))?.[1];
    expect(role, `the webhook's Firestore role is a custom role, not ${String(grant.role)}`).toBeDefined();
    const permissions = evaluator.value(resource(tf, 'google_project_iam_custom_role', role ?? '').permissions);
    // Read, query and delete sessions; create and update for proactive sends (outbound_messages, proactive_requests).
    expect([...(Array.isArray(permissions) ? permissions : [])].sort()).toEqual([
      'datastore.databases.get',
      'datastore.entities.create',
      'datastore.entities.delete',
      'datastore.entities.get',
      'datastore.entities.list',
      'datastore.entities.update',
    ]);
    expect(String(evaluator.value(sub(grant, 'condition')?.expression))).toBe('resource.name == "projects/example-project/databases/(default)"');
    expect(evaluator.value(grant.count), 'granted with the admin routes on').toBe(1);
    expect(new Evaluator(tf, varsFor('variable defaults')).value(grant.count), 'not granted with them off').toBe(0);
  });

  it('lets the build account read only the two source buckets and write only the bridge repository', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const isBuild = (b: Block) => String(b.member).includes('google_service_account.build[');
    const projectGrants = [...resourcesOf(tf, 'google_project_iam_member').values()].filter(isBuild);
    expect(projectGrants.map((b) => b.role).sort()).toEqual(['roles/logging.logWriter', 'roles/storage.objectViewer']);
    const reader = projectGrants.find((b) => b.role === 'roles/storage.objectViewer') ?? {};
    const condition = String(evaluator.value(sub(reader, 'condition')?.expression));
    for (const bucket of ['example-project-whatsapp-bridge-source', 'gcf-v2-sources-123456789012-us-central1']) {
      expect(condition).toContain(`resource.name == "projects/_/buckets/${bucket}"`);
      expect(condition).toContain(`resource.name.startsWith("projects/_/buckets/${bucket}/")`);
    }
    expect(condition.replace(/resource\.name(\.startsWith\("[^"]+"\)| == "[^"]+")|\|\||\s/g, ''), 'nothing but those clauses').toBe('');

    const writers = [...resourcesOf(tf, 'google_artifact_registry_repository_iam_member').values()].filter(isBuild);
    expect(writers.map((b) => b.role)).toEqual(['roles/artifactregistry.writer']);
    const repository = /google_artifact_registry_repository\.([a-z0-9_]+)\./.exec(String(writers[0]?.repository))?.[1] ?? '';
    const repositoryId = evaluator.value(`\${google_artifact_registry_repository.${repository}.id}`);
    for (const role of ROLES) expect(functionFor(tf, evaluator, role).build.docker_repository, `${role} builds into that repository`).toBe(repositoryId);
  });

  it('lets the webhook publish to the inbound topic', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const webhookSa = functionFor(tf, evaluator, 'webhook').serviceAccountRef;
    const inbound = pushSubscriptions(evaluator).inbound.body.topic;
    const publisher = [...instancesOf(tf, evaluator, 'google_pubsub_topic_iam_member').values()].find(
      (b) => b.topic === inbound && b.role === 'roles/pubsub.publisher' && b.member === evaluator.expression(`google_service_account.${webhookSa}.member`),
    );
    expect(publisher).toBeDefined();
  });
});

describe('secrets', () => {
  it('binds every secret env var to a google_secret_manager_secret defined here', () => {
    for (const scenario of ['variable defaults', 'admin routes on'] as const) {
      const evaluator = new Evaluator(tf, varsFor(scenario));
      for (const role of ROLES) {
        for (const [key, secretId] of functionFor(tf, evaluator, role).secrets) {
          expect(secretLabel(secretId, evaluator), `${scenario}: ${role} ${key} reads secret ${secretId}, defined here`).toBeDefined();
        }
      }
    }
  });

  it('binds the admin token to the webhook only with the admin routes on', () => {
    expect([...functionFor(tf, new Evaluator(tf, varsFor('variable defaults')), 'webhook').secrets.keys()]).not.toContain('ADMIN_API_TOKEN');
    expect(functionFor(tf, new Evaluator(tf, varsFor('admin routes on')), 'webhook').secrets.get('ADMIN_API_TOKEN')).toBe('whatsapp-admin-api-token');
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
      ['burst_buffers', 'conversation_windows', 'handoffs', 'held_replies', 'inbound_messages', 'outbound_messages', 'proactive_requests', 'rate_limits', 'whatsapp_sessions'],
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

  /** The filter of the log-based metric an alert counts, both evaluated (for_each instances too). */
  function logMetricFilters(evaluator: Evaluator): string[] {
    const metrics = [...instancesOf(tf, evaluator, 'google_logging_metric').values()];
    return [...instancesOf(tf, evaluator, 'google_monitoring_alert_policy').values()].flatMap((policy) =>
      filters(policy).flatMap((f) => {
        const name = /logging\.googleapis\.com\/user\/([a-z0-9_]+)"/.exec(f)?.[1];
        return metrics.filter((metric) => metric.name === name).map((metric) => String(metric.filter));
      }),
    );
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
    const metricFilter = logMetricFilters(evaluator).find((f) => f.includes('graphErrorCode=190'));
    expect(metricFilter).toBeDefined();
    expect(metricFilter).toContain(`service_name="${worker}"`);
  });

  it('alerts on webhook signature failures through a log-based metric on the webhook', () => {
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const webhook = String(evaluator.value(functionFor(tf, evaluator, 'webhook').block.name));
    const metricFilter = logMetricFilters(evaluator).find((f) => f.includes('webhook signature rejected'));
    expect(metricFilter).toBeDefined();
    expect(metricFilter).toContain('severity=WARNING');
    expect(metricFilter).toContain(`service_name="${webhook}"`);
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
  it('gives npm run deploy each function as applied', () => {
    for (const scenario of [...SCENARIOS, 'admin routes on'] as const) {
      const evaluator = new Evaluator(tf, varsFor(scenario));
      const functions = evaluator.object(tf.outputs.get('functions')?.value);
      expect(evaluator.value(tf.outputs.get('project_id')?.value)).toBe(varsFor(scenario).project_id);
      for (const role of ROLES) {
        const facts = functionFor(tf, evaluator, role);
        const output = functions[role];
        expect(isObject(output) && output.name, `${scenario}: functions.${role}.name`).toBe(evaluator.value(facts.block.name));
        expect(isObject(output) && output.service_config, `${scenario}: functions.${role}.service_config`).toEqual(facts.service);
        expect(isObject(output) && output.build_config, `${scenario}: functions.${role}.build_config`).toEqual(facts.build);
      }
    }
  });

  it('gives the callback URL, the verify-token secret and the dead-letter subscription', () => {
    const value = (name: string) => {
      const output = tf.outputs.get(name);
      expect(output, `output ${name}`).toBeDefined();
      return String(output?.value);
    };
    const evaluator = new Evaluator(tf, varsFor('variable defaults'));
    const webhookLabel = functionFor(tf, evaluator, 'webhook').label;
    expect(value('callback_url')).toContain(`google_cloudfunctions2_function.${webhookLabel}.`);
    expect(value('verify_token_secret')).toBe('${google_secret_manager_secret.verify_token.secret_id}');
    const { inbound } = pushSubscriptions(evaluator);
    const [dlq] = deadLetterSubscriptions(evaluator, inbound);
    expect(evaluator.value(tf.outputs.get('dlq_subscription')?.value)).toBe(dlq?.body.name);
    expect(evaluator.value(tf.outputs.get('dlq_subscription_path')?.value)).toBe(subscriptionId(evaluator, dlq?.body.name));
    expect(evaluator.value(tf.outputs.get('push_subscription')?.value)).toBe(inbound.body.name);
  });
});
