import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PubSub } from '@google-cloud/pubsub';
import { ensurePubSubResources, pubsubLayout } from '../local/pubsubResources.js';
import { WORKER_CONCURRENCY } from '../local/productionRuntime.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { signedBodies, type SignedBody } from './bodies.js';
import { openPool, postWebhook } from './load.js';
import { cpuMs, memoryMiB } from './procStats.js';
import { measureWorkerFloor, type WorkerFloor } from './workerFloorRun.js';
import { measureWorkerAtConcurrency, type WorkerMemoryRun } from './workerMemory.js';
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
  /** RPCs made outside any push request (not placed in `sequential`). */
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
  /** VmHWM after runs A and B (at most the emulator's 2 pushes in flight), MiB. */
  peakRss: { webhook: number; worker: number };
  /** Run C: the worker at Terraform's worker_concurrency, pushes straight from the bench. */
  workerAtConcurrency: WorkerMemoryRun;
  /** A message's calls alone through the worker's clients (bench/workerFloor.ts), at run B's rate: the floor under the worker's CPU per message. Absent in runs before it existed. */
  workerFloor?: WorkerFloor;
  /**
   * POST → reply of the stack's first message (a new user) and of the next new user's, by step;
   * `restart`: the same right after both functions restart on the now warm emulators.
   */
  firstReply: { cold: ReplyBreakdown; warm: ReplyBreakdown; restart?: { cold: ReplyBreakdown; warm: ReplyBreakdown } };
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
  const timelineFile = join(tmpdir(), `bench-timeline-${process.pid}-${Date.now()}`);
  const preload = new URL('./countFirestore.js', import.meta.url).pathname;
  const timelinePreload = new URL('./workerTimeline.js', import.meta.url).pathname;
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
      // The preloads count Firestore RPCs and keep a timeline in the worker only (they are inert in the webhook).
      NODE_OPTIONS: `${options.nodeOptions || process.env.NODE_OPTIONS || ''} --import=${preload} --import=${timelinePreload}${profiler}`.trim(),
      BENCH_FIRESTORE_COUNTS: countsFile,
      BENCH_WORKER_TIMELINE: timelineFile,
      ...(options.cpuProfileDir ? { BENCH_WORKER_CPU_PROF: options.cpuProfileDir } : {}),
    },
  });
  // Each worker process (the stack's, then the restarted one) writes its own timeline file.
  const workerPids = new Set([stack.worker.child.pid!]);
  try {
    const readCounts = () => readFirestoreCounts(stack.worker.child.pid!, countsFile);
    const pool = openPool(new URL(stack.webhookUrl).origin, 32);
    // The stack's first message (the worker's lazy modules, gRPC channels, Firestore client and the
    // emulators' first use come up on it), then the same again from another new user, warm: the
    // first reply after a start. Then both again right after both functions restart on the now warm
    // emulators, as a new instance meets Pub/Sub and Firestore in production. All from users outside
    // both runs; they also warm the functions' connections for the runs.
    const firstReplyOf = async (user: number): Promise<SentMessage> => {
      const [message] = signedBodies(1, { users: 1, appSecret: options.appSecret, tag: `warm${user}`, firstUser: user });
      const sentBefore = stack.sandbox!.sent().length;
      const postedAt = Date.now();
      if ((await postWebhook(pool, message!)) !== 200) throw new Error('pipeline warm-up: the webhook refused the message');
      const reply = await stack.sandbox!.waitFor(() => stack.sandbox!.sent().slice(sentBefore)[0], 30_000);
      // The worker logs its last line after the send the sandbox saw.
      await sleep(500);
      return { wamid: message!.wamid, postedAt, repliedAt: reply.time };
    };
    const coldAndWarm = async (firstUser: number) => {
      const cold = await firstReplyOf(firstUser);
      const warm = await firstReplyOf(firstUser + 1);
      workerPids.add(stack.worker.child.pid!);
      const timeline = readWorkerTimeline(`${timelineFile}-${stack.worker.child.pid}.jsonl`);
      const logs = { webhook: stack.webhook.lines, worker: stack.worker.lines };
      return { cold: breakDown(cold, logs, timeline), warm: breakDown(warm, logs, timeline) };
    };
    const fresh = await coldAndWarm(900_000);
    options.log(`  first reply after the start: ${describeReply(fresh.cold)}`);
    options.log(`    the next new user's: ${describeReply(fresh.warm)}`);
    await Promise.all([stack.restart('webhook'), stack.restart('worker')]);
    const restart = await coldAndWarm(900_002);
    options.log(`  first reply after both functions restart (emulators warm): ${describeReply(restart.cold)}`);
    options.log(`    the next new user's: ${describeReply(restart.warm)}`);
    const firstReply = { ...fresh, restart };

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

    const floorMessages = Math.min(options.messages, 300);
    options.log(`  worker floor: a message's calls alone through the worker's clients, ${floorMessages} messages at ${rate}/s`);
    const workerFloor = await measureWorkerFloor(stack, { messages: floorMessages, users: options.users, rate, ...(options.nodeOptions ? { nodeOptions: options.nodeOptions } : {}) });
    options.log(`    ${workerFloor.cpuMsPerMessage.toFixed(1)} ms CPU per message, ${workerFloor.firestoreCpuMsPerMessage.toFixed(1)} ms for the Firestore calls alone (the worker: ${latencyRun.cpuMsPerMessage.worker.toFixed(1)} ms in run B)`);

    const memoryRun = { concurrency: WORKER_CONCURRENCY, messages: 10 * WORKER_CONCURRENCY, agentLatencyMs: 1000, firstUser: 800_000 };
    options.log(`  run C (memory): ${memoryRun.messages} pushes straight to the worker, ${memoryRun.concurrency} in flight (worker_concurrency), the agent answering in ${memoryRun.agentLatencyMs} ms`);
    const workerAtConcurrency = await measureWorkerAtConcurrency(stack, memoryRun);
    options.log(`    ${workerAtConcurrency.answered} answered; worker peak RSS ${workerAtConcurrency.peakRssAfter.toFixed(0)} MiB (${workerAtConcurrency.peakRssBefore.toFixed(0)} MiB before)`);
    return {
      throughputRun,
      latencyRun,
      floor,
      firstReply,
      overheadP50: latencyRun.latency.p50 - floor.latency.p50,
      overheadP99: latencyRun.latency.p99 - floor.latency.p99,
      emulatorPushConcurrency: await pushConcurrency(options.projectId),
      peakRss,
      workerAtConcurrency,
      workerFloor,
    };
  } finally {
    rmSync(countsFile, { force: true });
    await stack.stop();
    for (const worker of workerPids) rmSync(`${timelineFile}-${worker}.jsonl`, { force: true });
  }
}

interface SentMessage {
  wamid: string;
  postedAt: number;
  /** When the sandbox accepted the reply. */
  repliedAt: number;
}

/** One line of bench/workerTimeline.js (epoch ms). */
type TimelineEvent =
  | { kind: 'start' | 'listening' | 'request'; at: number }
  | { kind: 'rpc'; method: string; at: number; ms: number; inRequest: boolean };

/** What bench/workerTimeline.js recorded in one worker process. */
interface WorkerTimeline {
  startedAt: number;
  listeningAt?: number;
  events: TimelineEvent[];
}

/**
 * One message's way from POST to reply, cut at the functions' own log lines and the worker's
 * timeline (bench/workerTimeline.js), all on this machine's clock. The steps follow one another
 * and add up to the total (NaN where a line or event is missing).
 */
export interface ReplyBreakdown {
  totalMs: number;
  /** POST → the webhook has published (its "inbound message queued"). */
  webhookMs: number;
  /** Published → the push request reaches the worker: the emulator's push. */
  pushMs: number;
  /** The push reached the worker → the message's first Firestore RPC: waiting for the worker's start (adapters loading). */
  startupWaitMs: number;
  /** The message's first Firestore RPC → the agent query, without the session's creation: the claim, rate limit and session reads and writes. */
  firestoreMs: number;
  /** Creating the new user's agent session (its QueryReasoningEngine calls). */
  sessionMs: number;
  /** The agent query (the worker's agentMs). */
  agentMs: number;
  /** Agent answered → Meta accepted the first chunk: the reply saved, the Graph call. */
  replyMs: number;
  /** The message's first Firestore RPC alone (a channel's, a method's or the emulator's first call shows here). */
  firstRpcMs: number;
  /** Where the worker was when the message was POSTed, ms relative to the POST (negative: before it). */
  worker: { startedMs: number; listeningMs: number; adaptersMs: number; firestoreWarmMs: number; agentWarmMs: number };
}

type LogEntry = { wamid?: string; message?: string; time?: string; agentMs?: number; connection?: string };

function breakDown(sent: SentMessage, logs: { webhook: string[]; worker: string[] }, timeline: WorkerTimeline): ReplyBreakdown {
  const parse = (lines: string[]) =>
    lines.flatMap((line): LogEntry[] => {
      try {
        return [JSON.parse(line) as LogEntry];
      } catch {
        return [];
      }
    });
  const workerEntries = parse(logs.worker);
  const timeOf = (list: LogEntry[], match: (entry: LogEntry) => boolean) => {
    const time = list.find(match)?.time;
    return time ? Date.parse(time) : NaN;
  };
  const ofMessage = (message: string) => (entry: LogEntry) => entry.wamid === sent.wamid && entry.message === message;
  const queuedAt = timeOf(parse(logs.webhook), ofMessage('inbound message queued'));
  const answered = workerEntries.find(ofMessage('agent answered'));
  const answeredAt = answered?.time ? Date.parse(answered.time) : NaN;
  const acceptedAt = timeOf(workerEntries, ofMessage('first reply chunk accepted'));
  const agentMs = answered?.agentMs ?? NaN;
  const agentStart = answeredAt - agentMs;

  // One message at a time: the first push after the POST is this message's, and so are the RPCs made inside a request until the reply.
  const pushAt = timeline.events.find((event) => event.kind === 'request' && event.at >= sent.postedAt)?.at ?? NaN;
  const rpcs = timeline.events.flatMap((event) => (event.kind === 'rpc' && event.inRequest && event.at >= pushAt && event.at <= sent.repliedAt ? [event] : []));
  const firstRpc = rpcs.find((rpc) => !rpc.method.includes('ReasoningEngine'));
  const sessionMs = rpcs.filter((rpc) => rpc.method === 'QueryReasoningEngine' && rpc.at < agentStart).reduce((sum, rpc) => sum + rpc.ms, 0);
  const firstRpcAt = firstRpc?.at ?? NaN;

  const relative = (at: number | undefined) => (at === undefined ? NaN : at - sent.postedAt);
  const warmedUp = (connection: string) => timeOf(workerEntries, (entry) => entry.message === 'connection warmed up' && entry.connection === connection);
  return {
    totalMs: sent.repliedAt - sent.postedAt,
    webhookMs: queuedAt - sent.postedAt,
    pushMs: pushAt - queuedAt,
    startupWaitMs: firstRpcAt - pushAt,
    firestoreMs: agentStart - firstRpcAt - sessionMs,
    sessionMs,
    agentMs,
    replyMs: acceptedAt - answeredAt,
    firstRpcMs: firstRpc?.ms ?? NaN,
    worker: {
      startedMs: relative(timeline.startedAt),
      listeningMs: relative(timeline.listeningAt),
      adaptersMs: relative(timeOf(workerEntries, (entry) => entry.message === 'worker adapters built')),
      firestoreWarmMs: relative(warmedUp('firestore')),
      agentWarmMs: relative(warmedUp('agent')),
    },
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

/** One line for the console: the total and its steps. */
export function describeReply(reply: ReplyBreakdown): string {
  const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)}` : 'n/a');
  const w = reply.worker;
  return (
    `${ms(reply.totalMs)} ms = webhook ${ms(reply.webhookMs)} + push ${ms(reply.pushMs)} + start-up wait ${ms(reply.startupWaitMs)}` +
    ` + Firestore ${ms(reply.firestoreMs)} (first RPC ${ms(reply.firstRpcMs)}) + session ${ms(reply.sessionMs)} + agent ${ms(reply.agentMs)} + reply ${ms(reply.replyMs)};` +
    ` worker started ${ms(w.startedMs)}, listening ${ms(w.listeningMs)}, adapters ${ms(w.adaptersMs)}, Firestore warm ${ms(w.firestoreWarmMs)}, agent warm ${ms(w.agentWarmMs)} ms from the POST`
  );
}

/** What the worker's timeline preload (bench/workerTimeline.js) has written so far. */
function readWorkerTimeline(file: string): WorkerTimeline {
  const events = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as TimelineEvent);
  const at = (kind: 'start' | 'listening') => events.find((event) => event.kind === kind)?.at;
  return { startedAt: at('start') ?? NaN, listeningAt: at('listening'), events };
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
