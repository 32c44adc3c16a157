/**
 * What Terraform's defaults give each function at run time (terraform/variables.tf and main.tf),
 * for the local stack when it runs the deployed bundle (`npm start`, the bench): the same V8 heap
 * cap as production, and the worker's concurrency the bench loads it at. test/deploy/
 * productionRuntime.test.ts holds these to Terraform's own evaluation of its defaults.
 */
export const PRODUCTION_NODE_OPTIONS: Readonly<Record<'webhook' | 'worker', string>> = {
  webhook: '--max-old-space-size=96',
  worker: '--max-old-space-size=192',
};

/** Terraform's `worker_concurrency`: deliveries one worker instance handles at once. */
export const WORKER_CONCURRENCY = 20;

/** The production options first, so that NODE_OPTIONS of one's own (a preload, another cap to try) add to them or win. */
export function withProductionNodeOptions(target: 'webhook' | 'worker', own: string | undefined): string {
  return `${PRODUCTION_NODE_OPTIONS[target]} ${own ?? ''}`.trim();
}
