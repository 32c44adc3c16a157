import { readFileSync } from 'node:fs';
import type { LonePass } from './bursts.js';
import { root } from './ffProcess.js';

/**
 * List prices (USD) the cost per million messages is computed with: Tier 1 regions (the
 * Terraform default region is us-central1), no free tier, no committed-use discount. Read on
 * 2026-12-05 from the stored copies of the pages named in `source`.
 */
export const PRICES = {
  cpuPerVcpuSecond: { usd: 0.000024, source: 'https://cloud.google.com/run/pricing (Cloud Run functions = Cloud Run; CPU only allocated during request processing, Tier 1)' },
  memoryPerGibSecond: { usd: 0.0000025, source: 'https://cloud.google.com/run/pricing (same table, Tier 1)' },
  perMillionRequests: { usd: 0.4, source: 'https://cloud.google.com/run/pricing (requests, beyond 2 million free a month)' },
  firestoreReadPer100k: { usd: 0.03, source: 'https://cloud.google.com/firestore/pricing (Standard edition, us-central1 regional; nam5/eur3 multi-region is twice)' },
  firestoreWritePer100k: { usd: 0.09, source: 'https://cloud.google.com/firestore/pricing (Standard edition, us-central1)' },
  firestoreDeletePer100k: { usd: 0.01, source: 'https://cloud.google.com/firestore/pricing (Standard edition, us-central1; TTL deletes are billed as deletes)' },
  pubsubPerTib: { usd: 40, minBytesPerRequest: 1000, source: 'https://cloud.google.com/pubsub/pricing (message delivery basic: publish and push each billed, at least 1000 bytes a request)' },
  internetEgressPerGib: { usd: 0.12, source: 'https://cloud.google.com/functions/pricing-1stgen (internet data transfer out; Cloud Run uses Premium Tier networking rates, up to this figure)' },
} as const;

/**
 * How billed instance time follows from measured CPU: Cloud Run bills an instance (its whole
 * vCPU and memory) while it serves at least one request. Busy: instances are kept near the
 * autoscaler's 60% CPU target, so billed vCPU-seconds = CPU-seconds ÷ 0.6. Sparse: each request
 * alone on its instance, billed at least 100 ms (Cloud Run rounds up to 100 ms).
 */
export const BUSY_CPU_UTILISATION = 0.6;
export const SPARSE_BILLED_SECONDS = 0.1;
/** Request line and headers of one Graph API call, added to the JSON body the sandbox records. */
export const GRAPH_HEADER_BYTES = 600;
/** A turn-due message (bursts on) is a ~200-byte JSON: every publish and push of it bills the minimum. */
const TURN_DUE_BILLED_BYTES = PRICES.pubsubPerTib.minBytesPerRequest;

export interface CostInputs {
  /** Webhook CPU per request at the fixed rate (phase 1, production publishing). */
  webhookCpuMs: number;
  /** Pub/Sub data volume of one inbound message, as the stand-in measured it. */
  inboundPublishBytes: number;
  pass: LonePass;
  burstsOn: boolean;
}

export interface CostLine {
  component: string;
  quantity: string;
  busy: number;
  sparse: number;
}

/** Terraform's defaults (terraform/variables.tf): each function's memory in GiB, the worker's concurrency. */
export function terraformSizing(): { webhookGib: number; workerGib: number; workerConcurrency: number } {
  const variables = readFileSync(`${root}terraform/variables.tf`, 'utf8');
  const defaultOf = (name: string) => {
    const value = new RegExp(`variable "${name}" \\{[^}]*?default\\s*=\\s*"?(\\w+)"?`).exec(variables)?.[1];
    if (!value) throw new Error(`cost: no default for ${name} in terraform/variables.tf`);
    return value;
  };
  const gib = (name: string) => {
    const [, amount, unit] = /^(\d+)(Mi|Gi)$/.exec(defaultOf(name)) ?? [];
    if (!amount) throw new Error(`cost: ${name} is not in Mi or Gi`);
    return Number(amount) / (unit === 'Gi' ? 1 : 1024);
  };
  return { webhookGib: gib('webhook_memory'), workerGib: gib('worker_memory'), workerConcurrency: Number(defaultOf('worker_concurrency')) };
}

/**
 * Not measured here (the local agent answers at once): the worker's instance is billed while it
 * waits for the agent. Per second of agent answer time per message: sparse, a whole instance
 * second; busy, that second shared by the worker's concurrent requests.
 */
export function agentWaitPerSecond(): { busy: number; sparse: number } {
  const sizing = terraformSizing();
  const instanceSecond = (PRICES.cpuPerVcpuSecond.usd + sizing.workerGib * PRICES.memoryPerGibSecond.usd) * 1e6;
  return { busy: instanceSecond / sizing.workerConcurrency, sparse: instanceSecond };
}

/** USD per million messages, by component, in both regimes. */
export function costPerMillion(inputs: CostInputs): CostLine[] {
  const { pass, burstsOn } = inputs;
  const sizing = terraformSizing();
  const gib = { webhook: sizing.webhookGib, worker: sizing.workerGib };
  const million = 1e6;
  const per = pass.perMessage;
  const pushes = burstsOn ? 2 : 1;
  const billed = (cpuMs: number, requests: number) => ({ busy: cpuMs / 1000 / BUSY_CPU_UTILISATION, sparse: requests * SPARSE_BILLED_SECONDS });
  const webhookSeconds = billed(inputs.webhookCpuMs, 1);
  const workerSeconds = billed(per.cpuMs.worker, pushes);
  const compute = (seconds: { busy: number; sparse: number }, memoryGib: number) => ({
    busy: seconds.busy * (PRICES.cpuPerVcpuSecond.usd + memoryGib * PRICES.memoryPerGibSecond.usd) * million,
    sparse: seconds.sparse * (PRICES.cpuPerVcpuSecond.usd + memoryGib * PRICES.memoryPerGibSecond.usd) * million,
  });
  const webhook = compute(webhookSeconds, gib.webhook);
  const worker = compute(workerSeconds, gib.worker);
  const requests = (1 + pushes) * PRICES.perMillionRequests.usd;
  const firestore =
    ((per.firestore.reads * PRICES.firestoreReadPer100k.usd + per.firestore.writes * PRICES.firestoreWritePer100k.usd + PRICES.firestoreDeletePer100k.usd) * million) / 1e5;
  const inboundBilled = Math.max(PRICES.pubsubPerTib.minBytesPerRequest, inputs.inboundPublishBytes);
  const pubsubBytes = 2 * inboundBilled + (burstsOn ? 2 * TURN_DUE_BILLED_BYTES : 0);
  const pubsub = (pubsubBytes * million * PRICES.pubsubPerTib.usd) / 2 ** 40;
  const egressBytes = per.graphBodyBytes + per.graphCalls * GRAPH_HEADER_BYTES;
  const egress = (egressBytes * million * PRICES.internetEgressPerGib.usd) / 2 ** 30;
  const same = (usd: number) => ({ busy: usd, sparse: usd });
  return [
    { component: 'webhook CPU + memory', quantity: `${inputs.webhookCpuMs.toFixed(2)} ms CPU/msg, ${gib.webhook * 1024} MiB`, ...webhook },
    { component: 'worker CPU + memory', quantity: `${per.cpuMs.worker.toFixed(1)} ms CPU/msg, ${pushes} push${pushes > 1 ? 'es' : ''}, ${gib.worker * 1024} MiB`, ...worker },
    { component: 'function requests', quantity: `${1 + pushes} per msg (webhook + pushes)`, ...same(requests) },
    { component: 'Firestore', quantity: `${per.firestore.reads.toFixed(2)} reads, ${per.firestore.writes.toFixed(2)} writes, 1 TTL delete per msg`, ...same(firestore) },
    { component: 'Pub/Sub', quantity: `${(pubsubBytes / 1000).toFixed(1)} kB billed per msg (inbound ${inputs.inboundPublishBytes.toFixed(0)} B → ${inboundBilled} B, publish + push${burstsOn ? '; turn-due publish + push' : ''})`, ...same(pubsub) },
    { component: 'outbound to Graph (internet egress)', quantity: `${per.graphCalls.toFixed(2)} calls, ${(egressBytes / 1000).toFixed(1)} kB per msg; ${per.agentCalls.toFixed(2)} agent calls (Google API, no egress charge)`, ...same(egress) },
  ];
}

export function totalOf(lines: CostLine[]): { busy: number; sparse: number } {
  return { busy: lines.reduce((sum, line) => sum + line.busy, 0), sparse: lines.reduce((sum, line) => sum + line.sparse, 0) };
}
