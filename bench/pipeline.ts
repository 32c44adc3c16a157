import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PubSub } from '@google-cloud/pubsub';
import { ensurePubSubResources, pubsubLayout } from '../local/pubsubResources.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { signedBodies, type SignedBody } from './bodies.js';
import { openPool, postWebhook } from './load.js';
import { cpuMs, memoryMiB } from './procStats.js';
import { percentile, summarise, type Summary } from './stats.js';

export interface PipelineOptions {
  projectId: string;
  pubsubHost: string;
  firestoreHost: string;
  messages: number;
  users: number;
  /** Messages per second for the latency run; 0 = choose from the measured throughput. */
  rate: number;
  appSecret: string;
  /** NODE_OPTIONS for both functions (the bench adds its Firestore-counting preload). */
  nodeOptions?: string;
  /** Where to write CPU profiles of the worker, one per run (bench/profileWorker.js); unset: none. */
  cpuProfileDir?: string;
  log: (line: string) => void;
}

export interface FirestoreCounts {
  rpcs: Record<string, number>;
  documentsRead: number;
  documentsWritten: number;
  queries: number;
  /** RPCs started while none of the same request's RPCs was in flight (see countFirestore.js). */
  sequential: number;
  /** RPCs made outside any request's domain (not placed in `sequential`). */
  unattributed: number;
  /** Duration of each RPC by method, ms (the preload's raw list; per run: p50 only). */
  ms: Record<string, number[]>;
}

/** One run's share of the preload's totals, with each method's p50 in place of the raw list. */
export type FirestoreRunCounts = Omit<FirestoreCounts, 'ms'> & { p50Ms: Record<string, number> };

export interface PipelineRun {
  kind: 'throughput' | 'latency';
  messages: number;
  users: number;
  /** Offered rate (latency run) or undefined (as fast as the webhook accepts). */
  rate?: number;
  accepted: number;
  latency: Summary;
  latencies: number[];
  throughput: number;
  drainMs: number;
  agentCalls: number;
  replies: number;
  unanswered: number;
  duplicateReplies: number;
  firestore: FirestoreRunCounts;
  /** CPU time of each function process per message over the run (its own accounting). */
  cpuMsPerMessage: { webhook: number; worker: number };
  /** How long the webhook took to accept all the run's messages. */
  acceptMs: number;
}

export interface FloorResult {
  latency: Summary;
  latencies: number[];
  received: number;
  duplicates: number;
}

export interface PipelineResult {
  throughputRun: PipelineRun;
  latencyRun: PipelineRun;
  floor: FloorResult;
  /** End-to-end percentile minus the floor's same percentile, latency run. */
  overheadP50: number;
  overheadP99: number;
  /** Push deliveries the emulator keeps in flight on one ordered subscription (measured). */
  emulatorPushConcurrency: number;
  peakRss: { webhook: number; worker: number };
  /** POST → reply of the stack's first message (a new user) and of the next new user's, by step. */
  firstReply: { cold: ReplyBreakdown; warm: ReplyBreakdown };
}

/** What startLocalStack gives the worker's push subscription (local/stack.ts). */
const WORKER_SUBSCRIPTION = { maxDeliveryAttempts: 100, ackDeadlineSeconds: 60 };

const BENCH_REPLY = /^Echo #\d+: (pipe[AB] \d+ .*)$/;

/**
 * The whole local stack on the compiled functions (emulators, local agent with no latency,
 * WhatsApp sandbox). Two runs of `messages` signed webhooks from `users` senders each, on
 * disjoint users: (A) sent as fast as the webhook accepts them, for throughput; (B) at a fixed
 * rate well below that, for latency, while the emulator's own push floor is measured at the
 * same rate and the same time (publish → trivial push endpoint on a separate ordered
 * subscription). End-to-end latency is webhook POST start → the sandbox accepting the reply.
 */
export async function measurePipeline(options: PipelineOptions): Promise<PipelineResult> {
  const countsFile = join(tmpdir(), `bench-firestore-${process.pid}-${Date.now()}.json`);
  const preload = new URL('./countFirestore.js', import.meta.url).pathname;
  const profiler = options.cpuProfileDir ? ` --import=${new URL('./profileWorker.js', import.meta.url).pathname}` : '';
  for (const segment of [1, 2, 3, 4]) if (options.cpuProfileDir) rmSync(join(options.cpuProfileDir, `worker-${segment}.cpuprofile`), { force: true });
  const stack = await startLocalStack({
    reuseEmulators: true,
    compiled: true,
    env: {
      GOOGLE_CLOUD_PROJECT: options.projectId,
      PUBSUB_EMULATOR_HOST: options.pubsubHost,
      FIRESTORE_EMULATOR_HOST: options.firestoreHost,
      WHATSAPP_APP_SECRET: options.appSecret,
      PUBSUB_TOPIC: 'bench-inbound',
      PUBSUB_TURNS_TOPIC: 'bench-turns',
      // This phase measures the one-turn-per-message path; the bursty workload has its own.
      BURST_WINDOW_MS: '0',
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      METADATA_SERVER_DETECTION: '',
      // The preload counts Firestore RPCs in the worker only (it is inert in the webhook).
      NODE_OPTIONS: `${options.nodeOptions || process.env.NODE_OPTIONS || ''} --import=${preload}${profiler}`.trim(),
      BENCH_FIRESTORE_COUNTS: countsFile,
      ...(options.cpuProfileDir ? { BENCH_WORKER_CPU_PROF: options.cpuProfileDir } : {}),
    },
  });
  try {
    const readCounts = () => readFirestoreCounts(stack.worker.child.pid!, countsFile);
    const pool = openPool(new URL(stack.webhookUrl).origin, 32);
    // The stack's first message (the worker's lazy modules, gRPC channel and Firestore client come
    // up on it), then the same again from another new user, warm: the first reply after a start.
    // Both warm the functions' connections for the runs, from users outside both runs.
    const firstReplyOf = async (user: number): Promise<ReplyBreakdown> => {
      const [message] = signedBodies(1, { users: 1, appSecret: options.appSecret, tag: `warm${user}`, firstUser: user });
      const sentBefore = stack.sandbox!.sent().length;
      const started = Date.now();
      if ((await postWebhook(pool, message!)) !== 200) throw new Error('pipeline warm-up: the webhook refused the message');
      const reply = await stack.sandbox!.waitFor(() => stack.sandbox!.sent().slice(sentBefore)[0], 30_000);
      // The worker logs its last line after the send the sandbox saw.
      await sleep(500);
      return breakDown(message!.wamid, started, reply.time, stack.webhook.lines, stack.worker.lines);
    };
    const firstReply = { cold: await firstReplyOf(900_000), warm: await firstReplyOf(900_001) };
    options.log(`  first reply after the start: ${firstReply.cold.totalMs} ms; the next new user's: ${firstReply.warm.totalMs} ms`);

    options.log(`  run A (throughput): ${options.messages} messages from ${options.users} users, as fast as the webhook accepts`);
    const throughputRun = await runMessages(stack, pool, readCounts, options, { tag: 'pipeA', firstUser: 0, concurrency: 16 });
    // The profiler's segments end at the counting signals: the 2nd is run A's end, the 4th run B's.
    await keepWorkerProfile(options, 2, 'pipeA');
    options.log(`    ${throughputRun.throughput.toFixed(1)} messages/s end to end`);

    const rate = options.rate || Math.max(5, Math.min(25, Math.round(throughputRun.throughput * 0.4)));
    options.log(`  run B (latency): ${options.messages} messages from ${options.users} other users at ${rate}/s, push floor alongside`);
    const floorPromise = measurePushFloor({ ...options, rate });
    const latencyRun = await runMessages(stack, pool, readCounts, options, { tag: 'pipeB', firstUser: options.users, rate });
    await keepWorkerProfile(options, 4, 'pipeB');
    const floor = await floorPromise;
    options.log(`    end to end p50 ${latencyRun.latency.p50.toFixed(0)} ms; floor p50 ${floor.latency.p50.toFixed(0)} ms`);

    const peakRss = { webhook: memoryMiB(stack.webhook.child.pid!).peakRss, worker: memoryMiB(stack.worker.child.pid!).peakRss };
    await pool.close();
    return {
      throughputRun,
      latencyRun,
      floor,
      firstReply,
      overheadP50: latencyRun.latency.p50 - floor.latency.p50,
      overheadP99: latencyRun.latency.p99 - floor.latency.p99,
      emulatorPushConcurrency: await pushConcurrency(options.projectId),
      peakRss,
    };
  } finally {
    rmSync(countsFile, { force: true });
    await stack.stop();
  }
}

/**
 * One message's way from POST to reply, cut at the functions' own log lines (same clock):
 * the webhook's "inbound message queued", the worker's "agent answered" (with agentMs, so the
 * agent call's start is known) and "first reply chunk accepted". NaN where a line is missing.
 */
export interface ReplyBreakdown {
  totalMs: number;
  /** POST → the webhook has published. */
  webhookMs: number;
  /** Published → the agent call starts: the push, the worker's first use of its lazy modules and clients, the claim and session reads. */
  pushToAgentMs: number;
  /** The agent call (gRPC channel and credentials included on a first call). */
  agentMs: number;
  /** Agent answered → Meta accepted the first chunk: the reply saved, the Graph call. */
  replyMs: number;
}

function breakDown(wamid: string, postedAt: number, repliedAt: number, webhookLines: string[], workerLines: string[]): ReplyBreakdown {
  const entries = (lines: string[]) =>
    lines.flatMap((line) => {
      try {
        const entry = JSON.parse(line) as { wamid?: string; message?: string; time?: string; agentMs?: number };
        return entry.wamid === wamid ? [entry] : [];
      } catch {
        return [];
      }
    });
  const at = (list: ReturnType<typeof entries>, message: string) => {
    const entry = list.find((e) => e.message === message);
    return entry?.time ? { time: Date.parse(entry.time), entry } : undefined;
  };
  const queued = at(entries(webhookLines), 'inbound message queued');
  const worker = entries(workerLines);
  const answered = at(worker, 'agent answered');
  const accepted = at(worker, 'first reply chunk accepted');
  const agentMs = answered?.entry.agentMs ?? NaN;
  const agentStart = (answered?.time ?? NaN) - agentMs;
  return {
    totalMs: repliedAt - postedAt,
    webhookMs: (queued?.time ?? NaN) - postedAt,
    pushToAgentMs: agentStart - (queued?.time ?? NaN),
    agentMs,
    replyMs: (accepted?.time ?? NaN) - (answered?.time ?? NaN),
  };
}

/** Names the profiler's segment `n` after its run, once the worker has written it. */
async function keepWorkerProfile(options: PipelineOptions, segment: number, run: 'pipeA' | 'pipeB'): Promise<void> {
  if (!options.cpuProfileDir) return;
  const written = join(options.cpuProfileDir, `worker-${segment}.cpuprofile`);
  for (let i = 0; i < 100 && !existsSync(written); i += 1) await sleep(50);
  const kept = join(options.cpuProfileDir, `worker-${run}.cpuprofile`);
  renameSync(written, kept);
  options.log(`    worker CPU profile of run ${run.at(-1)}: ${kept} (npx tsx bench/profileSummary.ts ${kept})`);
}

/** Asks the worker's counting preload (bench/countFirestore.js) for its totals so far. */
export async function readFirestoreCounts(workerPid: number, countsFile: string): Promise<FirestoreCounts> {
  rmSync(countsFile, { force: true });
  process.kill(workerPid, 'SIGUSR2');
  for (let i = 0; i < 100; i += 1) {
    try {
      return JSON.parse(readFileSync(countsFile, 'utf8')) as FirestoreCounts;
    } catch {
      await sleep(50);
    }
  }
  throw new Error('the worker wrote no Firestore counts');
}

/** The counts between two readings, per message. */
export function firestorePerMessage(before: FirestoreCounts, after: FirestoreCounts, messages: number) {
  const rpcs = Object.values(after.rpcs).reduce((x, y) => x + y, 0) - Object.values(before.rpcs).reduce((x, y) => x + y, 0);
  return {
    reads: (after.documentsRead - before.documentsRead) / messages,
    writes: (after.documentsWritten - before.documentsWritten) / messages,
    rpcs: rpcs / messages,
    sequential: (after.sequential - before.sequential) / messages,
  };
}

async function runMessages(
  stack: LocalStack,
  pool: ReturnType<typeof openPool>,
  readCounts: () => Promise<FirestoreCounts>,
  options: PipelineOptions,
  run: { tag: 'pipeA' | 'pipeB'; firstUser: number; rate?: number; concurrency?: number },
): Promise<PipelineRun> {
  const sandbox = stack.sandbox!;
  const agent = stack.agent!;
  agent.latencyMs = 0;
  const bodies = signedBodies(options.messages, {
    users: options.users,
    appSecret: options.appSecret,
    tag: run.tag,
    firstUser: run.firstUser,
  });
  const postedAt = new Map<string, number>();
  const countsBefore = await readCounts();
  const agentCallsBefore = agent.calls.length;
  const sentBefore = sandbox.sent().length;
  const webhookPid = stack.webhook.child.pid!;
  const workerPid = stack.worker.child.pid!;
  const cpuBefore = { webhook: cpuMs(webhookPid), worker: cpuMs(workerPid) };
  let accepted = 0;
  const send = async (body: SignedBody) => {
    postedAt.set(body.text, Date.now());
    if ((await postWebhook(pool, body)) === 200) accepted += 1;
  };

  const startWall = Date.now();
  if (run.rate) {
    const inFlight: Promise<void>[] = [];
    const start = performance.now();
    for (let i = 0; i < bodies.length; i += 1) {
      const wait = start + (i * 1000) / run.rate - performance.now();
      if (wait > 1) await sleep(wait);
      inFlight.push(send(bodies[i]!));
    }
    await Promise.all(inFlight);
  } else {
    let next = 0;
    await Promise.all(
      Array.from({ length: run.concurrency ?? 16 }, async () => {
        while (next < bodies.length) await send(bodies[next++]!);
      }),
    );
  }

  const acceptMs = Date.now() - startWall;
  const ours = () => sandbox.sent().slice(sentBefore).filter((m) => BENCH_REPLY.exec(m.text ?? '')?.[1]?.startsWith(run.tag));
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline && new Set(ours().map((m) => m.text)).size < options.messages) await sleep(100);
  // Room for a duplicate reply or a second agent call to show up if there were one.
  await sleep(2000);

  const sent = ours();
  const firstReply = new Map<string, number>();
  let duplicateReplies = 0;
  for (const message of sent) {
    const text = BENCH_REPLY.exec(message.text!)![1]!;
    if (firstReply.has(text)) duplicateReplies += 1;
    else firstReply.set(text, message.time);
  }
  const latencies = [...firstReply].flatMap(([text, at]) => (postedAt.has(text) ? [at - postedAt.get(text)!] : []));
  const drainMs = Math.max(...firstReply.values()) - startWall;
  const cpu = { webhook: (cpuMs(webhookPid) - cpuBefore.webhook) / options.messages, worker: (cpuMs(workerPid) - cpuBefore.worker) / options.messages };
  const countsAfter = await readCounts();
  const p50Ms: Record<string, number> = {};
  for (const [method, all] of Object.entries(countsAfter.ms)) {
    const mine = all.slice(countsBefore.ms[method]?.length ?? 0).sort((x, y) => x - y);
    if (mine.length) p50Ms[method] = percentile(mine, 50);
  }
  const rpcs: Record<string, number> = {};
  for (const [method, count] of Object.entries(countsAfter.rpcs)) rpcs[method] = count - (countsBefore.rpcs[method] ?? 0);
  return {
    kind: run.rate ? 'latency' : 'throughput',
    messages: options.messages,
    users: options.users,
    ...(run.rate ? { rate: run.rate } : {}),
    accepted,
    latency: summarise(latencies),
    latencies,
    throughput: (firstReply.size * 1000) / drainMs,
    drainMs,
    agentCalls: agent.calls.slice(agentCallsBefore).filter((call) => call.text.startsWith(run.tag)).length,
    replies: sent.length,
    unanswered: options.messages - firstReply.size,
    duplicateReplies,
    firestore: {
      rpcs,
      documentsRead: countsAfter.documentsRead - countsBefore.documentsRead,
      documentsWritten: countsAfter.documentsWritten - countsBefore.documentsWritten,
      queries: countsAfter.queries - countsBefore.queries,
      sequential: countsAfter.sequential - countsBefore.sequential,
      unattributed: countsAfter.unattributed - countsBefore.unattributed,
      p50Ms,
    },
    cpuMsPerMessage: cpu,
    acceptMs,
  };
}

/**
 * The emulator's own floor: publish (from this process, ordering keys, one message per
 * Publish) → push to a trivial endpoint that answers 204, on an ordered push subscription with
 * the worker's settings, with the same message count, key count and rate.
 */
export async function measurePushFloor(options: PipelineOptions & { rate: number }): Promise<FloorResult> {
  const endpoint = await trivialEndpoint();
  const pubsub = new PubSub({ projectId: options.projectId });
  try {
    const layout = pubsubLayout(`bench-floor-${Date.now()}`);
    // The helper and settings the local stack uses for the worker's subscription.
    await ensurePubSubResources({ projectId: options.projectId, layout, pushEndpoint: endpoint.url, ...WORKER_SUBSCRIPTION });
    const topic = pubsub.topic(layout.topic, { messageOrdering: true, batching: { maxMessages: 1, maxMilliseconds: 0 } });
    const payload = Buffer.from(JSON.stringify({ v: 1, wamid: `wamid.${'x'.repeat(60)}`, text: 'floor' }));
    const publishedAt = new Map<string, number>();
    const pending: Promise<unknown>[] = [];
    const start = performance.now();
    for (let i = 0; i < options.messages; i += 1) {
      const wait = start + (i * 1000) / options.rate - performance.now();
      if (wait > 1) await sleep(wait);
      publishedAt.set(String(i), performance.now());
      pending.push(topic.publishMessage({ data: payload, orderingKey: `floor-user-${i % options.users}`, attributes: { seq: String(i) } }));
    }
    await Promise.all(pending);
    const deadline = Date.now() + 120_000;
    while (endpoint.received.size < options.messages && Date.now() < deadline) await sleep(50);
    if (endpoint.received.size < options.messages) {
      throw new Error(`push floor: only ${endpoint.received.size} of ${options.messages} messages were pushed within 120 s`);
    }
    const latencies = [...endpoint.received].map(([seq, at]) => at - publishedAt.get(seq)!);
    return { latency: summarise(latencies), latencies, received: endpoint.received.size, duplicates: endpoint.duplicates() };
  } finally {
    await pubsub.close();
    await endpoint.close();
  }
}

/** How many pushes the emulator keeps in flight on one ordered subscription (100 ms handler, 40 keys). */
async function pushConcurrency(projectId: string): Promise<number> {
  let inFlight = 0;
  let max = 0;
  let done = 0;
  const server = createServer((req, res) => {
    inFlight += 1;
    max = Math.max(max, inFlight);
    req.resume();
    setTimeout(() => {
      inFlight -= 1;
      done += 1;
      res.writeHead(204).end();
    }, 100);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pubsub = new PubSub({ projectId });
  try {
    const layout = pubsubLayout(`bench-concurrency-${Date.now()}`);
    const pushEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    await ensurePubSubResources({ projectId, layout, pushEndpoint, ...WORKER_SUBSCRIPTION });
    const publisher = pubsub.topic(layout.topic, { messageOrdering: true, batching: { maxMessages: 1 } });
    await Promise.all(Array.from({ length: 40 }, (_, i) => publisher.publishMessage({ data: Buffer.from('x'), orderingKey: `k${i}` })));
    const deadline = Date.now() + 30_000;
    while (done < 40 && Date.now() < deadline) await sleep(20);
    return max;
  } finally {
    await pubsub.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function trivialEndpoint() {
  const received = new Map<string, number>();
  let duplicates = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = performance.now();
      try {
        const seq = (JSON.parse(Buffer.concat(chunks).toString()) as { message?: { attributes?: Record<string, string> } }).message
          ?.attributes?.seq;
        if (seq !== undefined) {
          if (received.has(seq)) duplicates += 1;
          else received.set(seq, at);
        }
      } catch {
        // not an envelope
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    received,
    duplicates: () => duplicates,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
