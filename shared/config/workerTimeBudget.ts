/** The worker's settings that bound how long one delivery can take. */
export interface TimeBudgetSettings {
  BURST_WINDOW_MS: number;
  BURST_MAX_WAIT_MS: number;
  AGENT_ACCEPTS_MEDIA: boolean;
  GRAPH_TIMEOUT_MS: number;
  MEDIA_COPY_TIMEOUT_MS: number;
  AGENT_TIMEOUT_MS: number;
}

export interface TimeBudget {
  steps: { setting: string; ms: number }[];
  totalMs: number;
}

/**
 * One delivery's time budget: the longest the worker can wait, step after step, before its reply
 * starts going out, each outbound call taking its whole timeout: a burst's wait, the media lookup
 * (Graph's metadata and the bucket's copy, looked up together), the media copy (the Graph download
 * streams into the upload), the agent turn, the first reply message. terraform/timeBudget.tf sums
 * the same steps.
 */
export function workerTimeBudget(settings: TimeBudgetSettings): TimeBudget {
  const steps = [
    ...(settings.BURST_WINDOW_MS > 0 ? [{ setting: 'BURST_MAX_WAIT_MS', ms: settings.BURST_MAX_WAIT_MS }] : []),
    ...(settings.AGENT_ACCEPTS_MEDIA
      ? [
          { setting: 'media lookup max(GRAPH_TIMEOUT_MS, MEDIA_COPY_TIMEOUT_MS)', ms: Math.max(settings.GRAPH_TIMEOUT_MS, settings.MEDIA_COPY_TIMEOUT_MS) },
          { setting: 'media copy MEDIA_COPY_TIMEOUT_MS', ms: settings.MEDIA_COPY_TIMEOUT_MS },
        ]
      : []),
    { setting: 'AGENT_TIMEOUT_MS', ms: settings.AGENT_TIMEOUT_MS },
    { setting: 'first reply GRAPH_TIMEOUT_MS', ms: settings.GRAPH_TIMEOUT_MS },
  ];
  return { steps, totalMs: steps.reduce((sum, step) => sum + step.ms, 0) };
}

/** The budget as a sum that names each setting, for the start-up error. */
export function describeTimeBudget(budget: TimeBudget): string {
  return `${budget.steps.map((step) => `${step.setting} ${step.ms} ms`).join(' + ')} = ${budget.totalMs} ms`;
}
