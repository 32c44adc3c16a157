import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { textWebhook } from '../local/webhookBodies.js';
import type { LocalStack } from '../local/stack.js';
import { messageAttributes } from '../shared/queue/inboundPublisher.js';
import { parseWebhookBody } from '../shared/whatsapp/parseWebhookBody.js';
import { benchPhone } from './bodies.js';
import { memoryMiB } from './procStats.js';

export interface WorkerMemoryRun {
  /** Push requests open at the worker at once: Terraform's worker_concurrency. */
  concurrency: number;
  messages: number;
  agentLatencyMs: number;
  answered: number;
  /** The most push requests the bench had open at once (each stays open until the worker is done with it). */
  maxInFlight: number;
  /** The worker's VmHWM before and after this run, MiB. */
  peakRssBefore: number;
  peakRssAfter: number;
}

/**
 * The worker at its configured concurrency. The emulator keeps at most 2 pushes in flight on an
 * ordered subscription, so runs A and B never load the worker with more than 2 deliveries; here
 * the bench itself is Pub/Sub: it POSTs push envelopes straight to the worker, `concurrency` at
 * a time, each from a new user (so each also creates an agent session), while the local agent
 * takes `agentLatencyMs` to answer, so that `concurrency` agent streams, Firestore transactions
 * and Graph sends overlap as they do on a busy instance.
 */
export async function measureWorkerAtConcurrency(
  stack: LocalStack,
  options: { concurrency: number; messages: number; agentLatencyMs: number; firstUser: number },
): Promise<WorkerMemoryRun> {
  const agent = stack.agent!;
  const workerPid = stack.worker.child.pid!;
  const subscription = `projects/${stack.projectId}/subscriptions/${stack.layout.pushSubscription}`;
  const envelopes = Array.from({ length: options.messages }, (_, i) => {
    const user = options.firstUser + i;
    const [message] = parseWebhookBody(textWebhook({ phone: benchPhone(user), name: `Bench User ${user}` }, `memC ${i} ¿qué tal?`)).messages;
    return JSON.stringify({
      message: {
        data: Buffer.from(JSON.stringify(message)).toString('base64'),
        attributes: messageAttributes(message!),
        messageId: `bench-memory-${i}`,
        publishTime: new Date().toISOString(),
      },
      subscription,
    });
  });

  const pool = new Pool(stack.workerUrl, { connections: options.concurrency, keepAliveTimeout: 30_000 });
  const peakRssBefore = memoryMiB(workerPid).peakRss;
  agent.latencyMs = options.agentLatencyMs;
  let next = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let answered = 0;
  try {
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (next < envelopes.length) {
          const body = envelopes[next++]!;
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            const response = await pool.request({ path: '/', method: 'POST', headers: { 'content-type': 'application/json' }, body });
            await response.body.dump();
            if (response.statusCode < 300) answered += 1;
          } finally {
            inFlight -= 1;
          }
        }
      }),
    );
  } finally {
    agent.latencyMs = 0;
    await pool.close();
  }
  // The last replies' bookkeeping settles after the push is acknowledged.
  await sleep(1000);
  return {
    concurrency: options.concurrency,
    messages: options.messages,
    agentLatencyMs: options.agentLatencyMs,
    answered,
    maxInFlight,
    peakRssBefore,
    peakRssAfter: memoryMiB(workerPid).peakRss,
  };
}
