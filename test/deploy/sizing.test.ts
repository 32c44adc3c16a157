import { describe, expect, it } from 'vitest';
import { PRODUCTION_NODE_OPTIONS, WORKER_CONCURRENCY } from '../../local/productionRuntime.js';
import { hasTerraform, useTerraformFiles, warnWithoutTerraform } from './terraformConsole.js';

/*
 * The functions' memory and heap caps (terraform/sizing.tf), evaluated by the real `terraform`
 * binary: the worker's heap cap follows worker_memory, and the local stack runs the deployed
 * bundle with what Terraform's defaults give (local/productionRuntime.ts).
 */

warnWithoutTerraform('the sizing suite');

describe.skipIf(!hasTerraform)('sizing in the real Terraform', () => {
  const evaluate = useTerraformFiles(['variables.tf', 'sizing.tf'], {
    project_id: 'example-project',
    agent_engine: 'projects/example-project/locations/us-central1/reasoningEngines/1',
  });

  it("gives npm start and the bench the NODE_OPTIONS and concurrency of Terraform's defaults", () => {
    const { value, error } = evaluate({}, '{ webhook = local.webhook_node_options, worker = local.worker_node_options, concurrency = var.worker_concurrency }');
    expect(error).toBeUndefined();
    expect(value).toEqual({ ...PRODUCTION_NODE_OPTIONS, concurrency: WORKER_CONCURRENCY });
  });

  it.each([
    ['512Mi', 192],
    ['768Mi', 448],
    ['1Gi', 704],
    ['2Gi', 1728],
  ])('caps the worker heap at worker_memory minus the measured reserve (%s → %i MB)', (memory, heap) => {
    expect(evaluate({ worker_memory: memory }, 'local.worker_node_options').value).toBe(`--max-old-space-size=${heap}`);
  });

  it('lets worker_heap_mb set the cap instead', () => {
    expect(evaluate({ worker_memory: '1Gi', worker_heap_mb: 256 }, 'local.worker_node_options').value).toBe('--max-old-space-size=256');
  });

  it.each([
    ['worker_memory below 512Mi', { worker_memory: '256Mi' }, /worker_memory must be like 512Mi or 1Gi, and at least 512Mi/],
    ['worker_memory in other units', { worker_memory: '1G' }, /worker_memory must be like 512Mi or 1Gi/],
    ['worker_heap_mb below 128', { worker_heap_mb: 64 }, /worker_heap_mb must be null \(follow worker_memory\) or at least 128/],
  ])('refuses %s', (_name, vars, message) => {
    expect(evaluate(vars, 'local.worker_node_options').error).toMatch(message);
  });
});
