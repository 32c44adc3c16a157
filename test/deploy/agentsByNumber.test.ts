import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasTerraform, useTerraformFiles, warnWithoutTerraform } from './terraformConsole.js';
import { loadConfig, webhookConfigSchema, workerConfigSchema } from '../../shared/config/config.js';
import {
  Evaluator,
  functionFor,
  type Json,
  loadTerraform,
  loadTfvars,
  resourcesOf,
  type Role,
  type Terraform,
  TF_DIR,
  variableDefaults,
} from './terraformConfig.js';

/*
 * Terraform for one deployment serving several numbers (issue 16): agent_engine_by_number and
 * texts_by_number reach the functions as AGENT_ENGINE_BY_NUMBER and TEXTS_BY_NUMBER, and every
 * agent in the map gets the worker's (and the admin webhook's) roles/aiplatform.user. Where the
 * real `terraform` binary is installed, the variables' validations and agents.tf's locals run
 * in it (variables and locals need no provider, so no network).
 */

const DEFAULT_ENGINE = 'projects/example-project/locations/us-central1/reasoningEngines/1';
const SUPPORT_ES = 'projects/agents-eu/locations/europe-west1/reasoningEngines/soporte';
const SALES_EN = 'projects/agents-us/locations/us-east4/reasoningEngines/sales';
const BILLING_EU = 'projects/agents-eu/locations/europe-west4/reasoningEngines/billing';

const agentEngineByNumber = {
  '111111111111111': SUPPORT_ES,
  '222222222222222': SALES_EN,
  '333333333333333': BILLING_EU,
  // A number may name agent_engine itself: it needs no grant of its own.
  '444444444444444': DEFAULT_ENGINE,
};
const textsByNumber = { '111111111111111': { APOLOGY_TEXT: 'Lo siento, inténtalo más tarde.', WELCOME_TEXT: '', OPT_OUT_COMMANDS: 'Baja, darme de baja' } };

let tf: Terraform;
let defaults: Record<string, Json>;

beforeAll(async () => {
  tf = await loadTerraform();
  defaults = variableDefaults(tf);
});

const varsWith = (extra: Record<string, Json> = {}) => ({
  ...defaults,
  project_id: 'example-project',
  agent_engine: DEFAULT_ENGINE,
  agent_engine_by_number: agentEngineByNumber,
  texts_by_number: textsByNumber,
  ...extra,
});

describe('the map and the texts reach the functions', () => {
  it('gives the worker both maps as JSON its config reads back to the same routes and texts', () => {
    const worker = functionFor(tf, new Evaluator(tf, varsWith()), 'worker');
    const config = loadConfig(workerConfigSchema, { ...worker.env, WHATSAPP_ACCESS_TOKEN: 'secret-value' });
    expect(config.AGENT_ENGINE_BY_NUMBER).toEqual(agentEngineByNumber);
    expect(config.AGENT_ENGINE).toBe(DEFAULT_ENGINE);
    expect(config.TEXTS_BY_NUMBER).toEqual({
      '111111111111111': { apologyText: 'Lo siento, inténtalo más tarde.', welcomeText: '', optOutCommands: ['baja', 'darme de baja'] },
    });
  });

  it('gives the webhook the map (its admin routes delete sessions on the number\'s agent)', () => {
    const webhook = functionFor(tf, new Evaluator(tf, varsWith({ enable_admin_api: true })), 'webhook');
    const config = loadConfig(webhookConfigSchema, { ...webhook.env, WHATSAPP_APP_SECRET: 's', WHATSAPP_VERIFY_TOKEN: 'v' });
    expect(config.AGENT_ENGINE_BY_NUMBER).toEqual(agentEngineByNumber);
  });

  it('passes empty maps by default, which the functions read as "one agent for every number"', () => {
    const worker = functionFor(tf, new Evaluator(tf, { ...defaults, project_id: 'example-project', agent_engine: DEFAULT_ENGINE }), 'worker');
    expect(worker.env).toMatchObject({ AGENT_ENGINE_BY_NUMBER: '{}', TEXTS_BY_NUMBER: '{}' });
  });

  it('the example tfvars show a map and texts the functions accept', async () => {
    const example = await loadTfvars(path.join(TF_DIR, 'terraform.tfvars.example'));
    const worker = functionFor(tf, new Evaluator(tf, { ...defaults, ...example }), 'worker');
    const config = loadConfig(workerConfigSchema, { ...worker.env, WHATSAPP_ACCESS_TOKEN: 'secret-value' });
    expect(Object.keys(config.AGENT_ENGINE_BY_NUMBER).length).toBeGreaterThan(0);
    expect(Object.keys(config.TEXTS_BY_NUMBER).length).toBeGreaterThan(0);
  });

  it('keeps both out of *_extra_env: Terraform owns them', () => {
    const owned = new Evaluator(tf, varsWith()).value('${local.worker_owned_env}');
    expect(owned).toEqual(expect.arrayContaining(['AGENT_ENGINE_BY_NUMBER', 'TEXTS_BY_NUMBER']));
    expect(new Evaluator(tf, varsWith()).value('${local.webhook_owned_env}')).toEqual(expect.arrayContaining(['AGENT_ENGINE_BY_NUMBER']));
  });
});

describe('IAM on every agent of the map', () => {
  /** The function's grants of roles/aiplatform.user that iterate over agents.tf's locals. */
  function numberGrants(role: Role) {
    const account = functionFor(tf, new Evaluator(tf, varsWith()), role).serviceAccountRef;
    return [...resourcesOf(tf, 'google_vertex_ai_reasoning_engine_iam_member'), ...resourcesOf(tf, 'google_project_iam_member')]
      .filter(([, block]) => String(block.member) === `\${google_service_account.${account}.member}` && block.for_each !== undefined)
      .map(([label, block]) => ({ label, block }));
  }

  for (const role of ['worker', 'webhook'] as const) {
    it(`grants the ${role} roles/aiplatform.user on each agent (scope "engine") or each agent project (scope "project")`, () => {
      const grants = numberGrants(role);
      const engine = grants.find(({ block }) => String(block.for_each).includes('local.number_agents'));
      const project = grants.find(({ block }) => String(block.for_each).includes('local.number_agent_projects'));
      expect(engine, `${role}: a reasoning-engine grant per agent`).toBeDefined();
      expect(project, `${role}: a project grant per agent project`).toBeDefined();
      expect(engine?.block).toMatchObject({
        role: 'roles/aiplatform.user',
        project: '${each.value.project}',
        region: '${each.value.location}',
        reasoning_engine: '${each.value.id}',
      });
      expect(project?.block).toMatchObject({ role: 'roles/aiplatform.user', project: '${each.value}' });
      expect(String(engine?.block.for_each)).toMatch(/var\.agent_iam_scope == "engine"/);
      expect(String(project?.block.for_each)).toMatch(/var\.agent_iam_scope == "project"/);
      // The webhook needs agents only for its admin routes.
      if (role === 'webhook') for (const grant of [engine, project]) expect(String(grant?.block.for_each)).toMatch(/var\.enable_admin_api/);
      else for (const grant of [engine, project]) expect(String(grant?.block.for_each)).not.toMatch(/enable_admin_api/);
    });
  }
});

describe('metrics by number', () => {
  it.each(['messages_in', 'replies_out', 'reply_latency'])('%s has a phone_number_id label read from the log line\'s phoneNumberId', (label) => {
    const metric = resourcesOf(tf, 'google_logging_metric').get(label);
    expect(metric, `google_logging_metric.${label}`).toBeDefined();
    expect(metric?.label_extractors).toMatchObject({ phone_number_id: 'EXTRACT(jsonPayload.phoneNumberId)' });
    const descriptor = Array.isArray(metric?.metric_descriptor) ? metric.metric_descriptor[0] : metric?.metric_descriptor;
    const labels = (descriptor as { labels?: { key: string }[] } | undefined)?.labels ?? [];
    expect(labels.map((each) => each.key)).toContain('phone_number_id');
  });
});

// ---------------------------------------------------------------- the real terraform binary

warnWithoutTerraform('the Terraform evaluation of agent_engine_by_number (validations, agents.tf)');

describe.skipIf(!hasTerraform)('agent_engine_by_number and texts_by_number in the real Terraform', () => {
  const evaluate = useTerraformFiles(['variables.tf', 'agents.tf'], {
    project_id: 'example-project',
    agent_engine: DEFAULT_ENGINE,
  });

  it('lists each agent of the map beyond agent_engine once, with its project, region and id', () => {
    const { value, error } = evaluate(
      { agent_engine_by_number: { ...agentEngineByNumber, '555555555555555': SUPPORT_ES } },
      '{ agents = local.number_agents, projects = local.number_agent_projects }',
    );
    expect(error).toBeUndefined();
    expect(value).toEqual({
      agents: {
        [SUPPORT_ES]: { project: 'agents-eu', location: 'europe-west1', id: 'soporte' },
        [SALES_EN]: { project: 'agents-us', location: 'us-east4', id: 'sales' },
        [BILLING_EU]: { project: 'agents-eu', location: 'europe-west4', id: 'billing' },
      },
      projects: ['agents-eu', 'agents-us'],
    });
  });

  it('grants nothing extra without a map, or when the map names only agent_engine', () => {
    for (const map of [{}, { '111': DEFAULT_ENGINE }]) {
      expect(evaluate({ agent_engine_by_number: map }, '[local.number_agents, local.number_agent_projects]').value).toEqual([{}, []]);
    }
  });

  it('accepts every documented name, WELCOME_TEXT and REENGAGE_TEMPLATE empty included', () => {
    const texts = {
      '111': {
        APOLOGY_TEXT: 'a',
        UNSUPPORTED_TEXT: 'b',
        MEDIA_UNSUPPORTED_TEXT: 'c',
        MEDIA_TOO_LARGE_TEXT: 'c2',
        SLOW_DOWN_TEXT: 'd',
        RESET_CONFIRM_TEXT: 'e',
        WELCOME_TEXT: '',
        OPT_OUT_CONFIRM_TEXT: 'g',
        OPT_IN_CONFIRM_TEXT: 'h',
        RESET_COMMANDS: '/recomeçar',
        OPT_OUT_COMMANDS: 'sair,parar',
        OPT_IN_COMMANDS: 'voltar',
        REENGAGE_TEMPLATE: '',
        REENGAGE_TEMPLATE_LANGUAGE: 'pt_BR',
      },
    };
    expect(evaluate({ texts_by_number: texts }, 'var.texts_by_number')).toEqual({ value: texts });
  });

  it.each([
    ['a phone number as key', { agent_engine_by_number: { '+34 600 000 000': SUPPORT_ES } }, /agent_engine_by_number keys must be phone_number_id values .* Bad keys: "\+34 600 000 000"/],
    ['an engine id without its path', { agent_engine_by_number: { '111': 'soporte' } }, /agent_engine_by_number values must be projects\/PROJECT\/locations\/LOCATION\/reasoningEngines\/ID\. Bad entries: 111 = "soporte"/],
    ['an engine without its location', { agent_engine_by_number: { '111': 'projects/p/reasoningEngines/1', '222': SALES_EN } }, /Bad entries: 111 = "projects\/p\/reasoningEngines\/1"\./],
    ['a location with a space (the workers would refuse it at start)', { agent_engine_by_number: { '111': 'projects/p/locations/europe west1/reasoningEngines/1' } }, /Bad entries: 111 = "projects\/p\/locations\/europe west1\/reasoningEngines\/1"/],
    ['texts under a phone number', { texts_by_number: { '+1 555': { APOLOGY_TEXT: 'x' } } }, /texts_by_number keys must be phone_number_id values .* Bad keys: "\+1 555"/],
    ['a misspelt text', { texts_by_number: { '111': { APOLOGIE_TEXT: 'x' } } }, /texts_by_number may set only .* Unknown: 111\.APOLOGIE_TEXT/],
    ['an empty apology', { texts_by_number: { '111': { APOLOGY_TEXT: '  ' } } }, /every text and word list but WELCOME_TEXT, REENGAGE_TEMPLATE and RESET_COMMANDS must say something\. Empty: 111\.APOLOGY_TEXT/],
    ['an opt-out list of no words', { texts_by_number: { '111': { OPT_OUT_COMMANDS: ' , ' } } }, /must say something\. Empty: 111\.OPT_OUT_COMMANDS/],
    ['a template language that is not a code', { texts_by_number: { '111': { REENGAGE_TEMPLATE_LANGUAGE: 'Portuguese' } } }, /REENGAGE_TEMPLATE_LANGUAGE must be a language code like es or en_US\. Bad: 111\.REENGAGE_TEMPLATE_LANGUAGE/],
  ])('refuses %s at plan time, naming the entry', (_case, vars, message) => {
    const { error } = evaluate(vars, 'var.agent_engine_by_number');
    expect(error).toMatch(/Invalid value for variable/);
    expect(error).toMatch(message);
  });
});
