import { beforeAll, describe, expect, it } from 'vitest';
import { hasTerraform, useTerraformFiles, warnWithoutTerraform } from './terraformConsole.js';
import { loadConfig, workerConfigSchema } from '../../shared/config/config.js';
import {
  allStrings,
  type Block,
  Evaluator,
  functionFor,
  type Json,
  loadTerraform,
  resource,
  resourcesOf,
  sub,
  type Terraform,
  variableDefaults,
} from './terraformConfig.js';

/*
 * The media bucket (issue 18): the worker copies inbound media there and the agent reads it by
 * gs:// URI. Checked on the parsed configuration (terraformConfig.ts) and, where `terraform` is
 * installed, by the real binary for the variables' validations and the agent projects' list.
 */

const ENGINE = 'projects/example-project/locations/us-central1/reasoningEngines/1';

let tf: Terraform;
let defaults: Record<string, Json>;

beforeAll(async () => {
  tf = await loadTerraform();
  defaults = variableDefaults(tf);
});

const evaluatorWith = (extra: Record<string, Json> = {}) =>
  new Evaluator(tf, { ...defaults, project_id: 'example-project', agent_engine: ENGINE, ...extra });

/** Every IAM grant on the media bucket. */
function mediaGrants(): { label: string; block: Block }[] {
  return [...resourcesOf(tf, 'google_storage_bucket_iam_member')]
    .filter(([, block]) => String(block.bucket) === '${google_storage_bucket.media.name}')
    .map(([label, block]) => ({ label, block }));
}

describe('the media bucket', () => {
  it('is private: uniform access, public access prevented, no public member anywhere on it', () => {
    const bucket = resource(tf, 'google_storage_bucket', 'media');
    expect(bucket.uniform_bucket_level_access).toBe(true);
    expect(bucket.public_access_prevention).toBe('enforced');
    for (const { block } of mediaGrants()) expect(allStrings(block.member).join(' ')).not.toMatch(/allUsers|allAuthenticatedUsers/);
    expect(resourcesOf(tf, 'google_storage_bucket_iam_binding').size + resourcesOf(tf, 'google_storage_bucket_iam_policy').size).toBe(0);
  });

  it.each([
    [{}, 7],
    [{ media_retention_days: 2 }, 2],
  ])('deletes objects after media_retention_days (%j → %i days), with no soft-deleted copies kept', (vars, days) => {
    const evaluator = evaluatorWith(vars);
    const bucket = resource(tf, 'google_storage_bucket', 'media');
    const rule = sub(bucket, 'lifecycle_rule');
    expect(evaluator.value(sub(rule, 'action')?.type)).toBe('Delete');
    expect(evaluator.number(sub(rule, 'condition')?.age)).toBe(days);
    expect(evaluator.number(sub(bucket, 'soft_delete_policy')?.retention_duration_seconds)).toBe(0);
  });

  it('is named after the project by default, or media_bucket_name; the worker gets that name as MEDIA_BUCKET', () => {
    for (const [vars, name] of [
      [{}, 'example-project-whatsapp-media'],
      [{ media_bucket_name: 'acme-wa-media' }, 'acme-wa-media'],
    ] as const) {
      const evaluator = evaluatorWith(vars);
      expect(evaluator.value(resource(tf, 'google_storage_bucket', 'media').name)).toBe(name);
      const worker = functionFor(tf, evaluator, 'worker');
      expect(worker.env.MEDIA_BUCKET).toBe(name);
      // The webhook never touches media.
      expect(functionFor(tf, evaluator, 'webhook').env.MEDIA_BUCKET).toBeUndefined();
    }
  });

  it('turns media on for the agent with agent_accepts_media, in a form the worker config reads', () => {
    for (const accepts of [false, true]) {
      const worker = functionFor(tf, evaluatorWith({ agent_accepts_media: accepts }), 'worker');
      const config = loadConfig(workerConfigSchema, { ...worker.env, WHATSAPP_ACCESS_TOKEN: 'secret-value' });
      expect(config.AGENT_ACCEPTS_MEDIA).toBe(accepts);
      expect(config.MEDIA_BUCKET).toBe('example-project-whatsapp-media');
    }
  });

  it('lets the worker create, read and replace objects there (objectUser on this bucket only), and nothing else', () => {
    const account = functionFor(tf, evaluatorWith(), 'worker').serviceAccountRef;
    const worker = mediaGrants().filter(({ block }) => String(block.member).includes(`google_service_account.${account}.`));
    expect(worker.map(({ block }) => block.role)).toEqual(['roles/storage.objectUser']);
    // No project-wide storage role for the worker.
    const projectWide = [...resourcesOf(tf, 'google_project_iam_member').values()].filter(
      (block) => String(block.member).includes(`google_service_account.${account}.`) && String(block.role).startsWith('roles/storage.'),
    );
    expect(projectWide).toEqual([]);
  });

  it('lets the Agent Engine service agent of every agent project read the objects', () => {
    const reader = mediaGrants().find(({ block }) => String(block.member).includes('gcp-sa-aiplatform-re'));
    expect(reader?.block).toMatchObject({
      role: 'roles/storage.objectViewer',
      for_each: '${data.google_project.agent_projects}',
      member: 'serviceAccount:service-${each.value.number}@gcp-sa-aiplatform-re.iam.gserviceaccount.com',
    });
    const projects = tf.dataSources.get('google_project')?.get('agent_projects');
    expect(projects).toMatchObject({ for_each: '${local.agent_projects}', project_id: '${each.value}' });
  });

  it('grants media_bucket_readers read access only', () => {
    const extra = mediaGrants().find(({ block }) => String(block.for_each).includes('var.media_bucket_readers'));
    expect(extra?.block).toMatchObject({ role: 'roles/storage.objectViewer', member: '${each.value}' });
  });

  it('keeps STORAGE_EMULATOR_HOST and MEDIA_BUCKET out of worker_extra_env', () => {
    expect(evaluatorWith().value('${local.worker_owned_env}')).toEqual(expect.arrayContaining(['MEDIA_BUCKET', 'AGENT_ACCEPTS_MEDIA', 'STORAGE_EMULATOR_HOST']));
  });
});

// ---------------------------------------------------------------- the real terraform binary

warnWithoutTerraform('the Terraform evaluation of the media variables');

describe.skipIf(!hasTerraform)('media settings in the real Terraform', () => {
  const evaluate = useTerraformFiles(['variables.tf', 'agents.tf'], {
    project_id: 'example-project',
    agent_engine: ENGINE,
  });

  it('lists each agent project once: agent_engine\'s and those of agent_engine_by_number', () => {
    expect(evaluate({}, 'local.agent_projects').value).toEqual(['example-project']);
    const byNumber = {
      '111': 'projects/agents-eu/locations/europe-west1/reasoningEngines/a',
      '222': 'projects/agents-eu/locations/europe-west4/reasoningEngines/b',
      '333': 'projects/agents-us/locations/us-east4/reasoningEngines/c',
    };
    expect(evaluate({ agent_engine_by_number: byNumber }, 'local.agent_projects').value).toEqual(['agents-eu', 'agents-us', 'example-project']);
  });

  it.each([
    ['a retention of 0 days', { media_retention_days: 0 }, /media_retention_days must be a whole number from 1 to 365/],
    ['a fractional retention', { media_retention_days: 1.5 }, /media_retention_days must be a whole number/],
    ['an upper-case bucket name', { media_bucket_name: 'My_Bucket' }, /media_bucket_name must be empty or a bucket name/],
    ['a reader that is not an IAM member', { media_bucket_readers: ['agent@example.com'] }, /media_bucket_readers entries must be IAM members/],
  ])('refuses %s at plan time', (_case, vars, message) => {
    const { error } = evaluate(vars, 'var.media_retention_days');
    expect(error).toMatch(/Invalid value for variable/);
    expect(error).toMatch(message);
  });

  it('accepts the defaults and a named bucket with extra readers', () => {
    const vars = { media_bucket_name: 'acme-wa-media', media_bucket_readers: ['serviceAccount:agent@p.iam.gserviceaccount.com'] };
    expect(evaluate(vars, '[var.media_retention_days, var.media_bucket_name]').value).toEqual([7, 'acme-wa-media']);
  });
});
