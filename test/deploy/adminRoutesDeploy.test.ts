import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { webhookConfigSchema, workerConfigSchema } from '../../shared/config/config.js';
import {
  Evaluator,
  functionFor,
  type Json,
  loadTerraform,
  resource,
  resourcesOf,
  ROOT,
  type Terraform,
  variableDefaults,
} from './terraformConfig.js';

/* The admin routes on (enable_admin_api): what the webhook's code does, Terraform grants and sets. */

let tf: Terraform;
let defaults: Record<string, Json>;

const required = { project_id: 'example-project', agent_engine: 'projects/example-project/locations/us-central1/reasoningEngines/1' };

beforeAll(async () => {
  tf = await loadTerraform();
  defaults = variableDefaults(tf);
});

function configOf(role: 'webhook' | 'worker', vars: Record<string, Json>) {
  const facts = functionFor(tf, new Evaluator(tf, vars), role);
  const env = { ...facts.env, ...Object.fromEntries([...facts.secrets.keys()].map((key) => [key, 'secret-value'])) };
  return (role === 'webhook' ? webhookConfigSchema : workerConfigSchema).parse(env) as { GRAPH_API_VERSION: string };
}

describe('the webhook with the admin routes on, in the real Terraform', () => {
  it('sends proactive messages (webhook admin routes) on the Graph API version graph_api_version names, like the worker', () => {
    const vars = { ...required, ...defaults, enable_admin_api: true, graph_api_version: 'v26.0' };
    const worker = configOf('worker', vars);
    const webhook = configOf('webhook', vars);
    expect(worker.GRAPH_API_VERSION).toBe('v26.0');
    // The webhook's createGraphClient (composeWebhook.ts) reads GRAPH_API_VERSION; Terraform never sets it there.
    expect(webhook.GRAPH_API_VERSION, 'webhook Graph API version with graph_api_version = "v26.0"').toBe('v26.0');
  });

  it('creates the webhook only after each secret it binds is readable by its service account', () => {
    const webhook = resource(tf, 'google_cloudfunctions2_function', 'webhook');
    const dependsOn = (webhook.depends_on as string[]).map((ref) => ref.replace(/^\$\{|\}$/g, ''));
    // Every accessor grant to the webhook's account (admin routes on: app secret, verify token, admin token, access token).
    const grants = [...resourcesOf(tf, 'google_secret_manager_secret_iam_member')]
      .filter(([, block]) => String(block.member).includes('google_service_account.webhook.'))
      .map(([label]) => `google_secret_manager_secret_iam_member.${label}`);
    expect(grants).toContain('google_secret_manager_secret_iam_member.webhook_access_token');
    for (const grant of grants) expect(dependsOn, `webhook depends_on ${grant}`).toContain(grant);
  });

  it("gives the webhook's Firestore role the permission its admin stores' transactions need (datastore.databases.get)", () => {
    // The stores composeAdminRoutes builds, and whether each runs a read-write transaction.
    const compose = readFileSync(path.join(ROOT, 'functions/webhook/composeWebhook.ts'), 'utf8');
    const stores = [...compose.matchAll(/import\('\.\.\/\.\.\/shared\/store\/(firestore\w+)\.js'\)/g)].map((m) => m[1]);
    const transactional = stores.filter((store) =>
      readFileSync(path.join(ROOT, `shared/store/${store}.ts`), 'utf8').includes('runTransaction('),
    );
    expect(transactional.sort()).toEqual(['firestoreHandoffStore', 'firestoreIdempotencyKeyStore', 'firestoreOutboundMessageStore']);
    const evaluator = new Evaluator(tf, { ...required, ...defaults, enable_admin_api: true });
    const permissions = evaluator.value(resource(tf, 'google_project_iam_custom_role', 'session_admin').permissions) as string[];
    // Firestore IAM: beginTransaction and rollback need datastore.databases.get (as does a commit with no writes).
    expect(permissions).toContain('datastore.databases.get');
  });
});
