import { describe, expect, it } from 'vitest';
import { workerTimeBudget } from '../../shared/config/workerTimeBudget.js';
import { hasTerraform, useTerraformFiles, warnWithoutTerraform } from './terraformConsole.js';

/*
 * The worker's time budget (terraform/timeBudget.tf), evaluated by the real `terraform` binary:
 * what the worker function's precondition says when a burst's wait, the media, the agent and the
 * first reply do not fit in worker_timeout_seconds, and that it sums the same steps as the
 * worker's own start-up check (shared/config/workerTimeBudget.ts).
 */

warnWithoutTerraform('the time budget suite');

type Evaluated = { steps: { setting: string; ms: number }[]; total: number; problem: string | null };

describe.skipIf(!hasTerraform)("the worker's time budget in the real Terraform", () => {
  const evaluate = useTerraformFiles(['variables.tf', 'timeBudget.tf'], {
    project_id: 'example-project',
    agent_engine: 'projects/example-project/locations/us-central1/reasoningEngines/1',
  });
  const budget = (vars: Record<string, unknown>): Evaluated => {
    const { value, error } = evaluate(vars, '{ steps = local.worker_time_budget_steps, total = local.worker_time_budget_ms, problem = local.worker_time_budget_problem }');
    expect(error).toBeUndefined();
    return value as Evaluated;
  };

  it('fits with the defaults, media on or off', () => {
    expect(budget({})).toMatchObject({ total: 8000 + 240_000 + 15_000, problem: null });
    expect(budget({ agent_accepts_media: true })).toMatchObject({ total: 8000 + 15_000 + 15_000 + 240_000 + 15_000, problem: null });
  });

  it('names every setting of the budget, with its value, when it does not fit', () => {
    const { problem } = budget({ agent_accepts_media: true, worker_extra_env: { GRAPH_TIMEOUT_MS: '20000' } });
    expect(problem).toBe(
      "The worker's time budget does not fit in worker_timeout_seconds (300 s): burst_max_wait_ms 8000 ms + media lookup max(GRAPH_TIMEOUT_MS, MEDIA_COPY_TIMEOUT_MS) 20000 ms + media copy MEDIA_COPY_TIMEOUT_MS 15000 ms + agent_timeout_seconds 240000 ms + first reply GRAPH_TIMEOUT_MS 20000 ms = 303000 ms. Lower these timeouts (GRAPH_TIMEOUT_MS and MEDIA_COPY_TIMEOUT_MS in worker_extra_env) or raise worker_timeout_seconds (below ack_deadline_seconds, 600 s).",
    );
  });

  it.each([
    ['an agent timeout that leaves no time to reply', { agent_timeout_seconds: 290 }],
    ['a long burst wait', { burst_max_wait_ms: 50_000 }],
    ['a slow media copy', { agent_accepts_media: true, worker_extra_env: { MEDIA_COPY_TIMEOUT_MS: '30000' } }],
    ['a shorter function timeout', { worker_timeout_seconds: 250 }],
  ])('refuses %s', (_name, vars) => {
    expect(budget(vars).problem).toMatch(/^The worker's time budget does not fit in worker_timeout_seconds/);
  });

  it.each([
    ['the same timeouts with bursts off', { agent_accepts_media: true, burst_window_ms: 0, worker_extra_env: { GRAPH_TIMEOUT_MS: '20000' } }],
    ['a longer function timeout', { agent_accepts_media: true, worker_timeout_seconds: 310, worker_extra_env: { GRAPH_TIMEOUT_MS: '20000' } }],
  ])('accepts %s', (_name, vars) => {
    expect(budget(vars).problem).toBeNull();
  });

  it.each([
    {},
    { agent_accepts_media: true },
    { agent_accepts_media: true, burst_window_ms: 0, agent_timeout_seconds: 120, worker_extra_env: { GRAPH_TIMEOUT_MS: '9000', MEDIA_COPY_TIMEOUT_MS: '25000' } },
    { burst_max_wait_ms: 12_000, worker_extra_env: { GRAPH_TIMEOUT_MS: '30000' } },
  ])('sums the same steps as the worker at start (%o)', (vars: Record<string, unknown>) => {
    const extra = (vars.worker_extra_env ?? {}) as Record<string, string>;
    const worker = workerTimeBudget({
      BURST_WINDOW_MS: (vars.burst_window_ms as number | undefined) ?? 2000,
      BURST_MAX_WAIT_MS: (vars.burst_max_wait_ms as number | undefined) ?? 8000,
      AGENT_ACCEPTS_MEDIA: (vars.agent_accepts_media as boolean | undefined) ?? false,
      GRAPH_TIMEOUT_MS: Number(extra.GRAPH_TIMEOUT_MS ?? 15_000),
      MEDIA_COPY_TIMEOUT_MS: Number(extra.MEDIA_COPY_TIMEOUT_MS ?? 15_000),
      AGENT_TIMEOUT_MS: ((vars.agent_timeout_seconds as number | undefined) ?? 240) * 1000,
    });
    const terraform = budget(vars);
    expect(terraform.steps.map((step) => step.ms)).toEqual(worker.steps.map((step) => step.ms));
    expect(terraform.total).toBe(worker.totalMs);
  });
});
