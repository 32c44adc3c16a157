import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, workerConfigSchema } from '../shared/config/config.js';
import { signatureFor } from '../shared/whatsapp/signature.js';
import { newWamid, textWebhook, toMetaJson } from '../local/webhookBodies.js';
import { startLocalStack, type LocalStack } from '../local/stack.js';
import { benchPhone, type SignedBody } from './bodies.js';
import { openPool, postWebhook } from './load.js';
import { firestorePerMessage, readFirestoreCounts } from './pipeline.js';
import { cpuMs } from './procStats.js';
import { summarise, type Summary } from './stats.js';

export interface BurstsOptions {
  projectId: string;
  pubsubHost: string;
  firestoreHost: string;
  appSecret: string;
  /** Lone messages per pass (one pass with bursts off, one with them on). */
  loneMessages: number;
  /** Lone messages per second. */
  loneRate: number;
  /** Users in the bursty run, each sending 3–6 messages 100–800 ms apart. */
  burstyUsers: number;
  nodeOptions?: string;
  log: (line: string) => void;
}

export interface LonePass {
  messages: number;
  replied: number;
  latency: Summary;
  /** Per message, over the pass (the cost model's inputs). */
  perMessage: {
    cpuMs: { webhook: number; worker: number };
    firestore: ReturnType<typeof firestorePerMessage>;
    agentCalls: number;
    graphCalls: number;
    /** JSON bodies the worker sent to the Graph API. */
    graphBodyBytes: number;
  };
}

export interface BurstyRun {
  users: number;
  messages: number;
  /** Stream queries the agent got for this run's messages. */
  agentCalls: number;
  replies: number;
  /** Messages found in no agent call, and in more than one. */
  lost: number;
  duplicated: number;
  /** Agent calls whose messages are not in the order the user sent them, or that follow a later message's call. */
  orderInversions: number;
  /** The burst's last message (POST start) → the sandbox accepting its reply. */
  lastMessageToReply: Summary;
}

export interface BurstsResult {
  windowMs: number;
  maxWaitMs: number;
  loneRate: number;
  /** The same lone-message workload with BURST_WINDOW_MS=0 (the worker restarted) and with the default window. */
  loneOff: LonePass;
  loneOn: LonePass;
  /** loneOn p50 − loneOff p50: what coalescing adds to a message that has no company. */
  addedP50: number;
  bursty: BurstyRun;
}

/** Senders of the lone messages: with the default 0.5/s, each writes every 8 s. */
const LONE_USERS = 4;

/** A deterministic generator, so every run offers the same bursts. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function body(user: number, text: string, appSecret: string): SignedBody {
  const phone = benchPhone(user);
  const wamid = newWamid();
  const raw = Buffer.from(toMetaJson(textWebhook({ phone, name: `Bench User ${user}` }, text, { wamid })));
  return { wamid, phone, text, raw, signature: signatureFor(raw, appSecret) };
}

/**
 * Issue 12's workload on the compiled functions with the worker's default burst settings:
 * lone messages (the added latency of coalescing, against the same messages with bursts off on
 * the same stack), then bursty users (several messages 100–800 ms apart) for agent calls per
 * message, with every message checked to reach the agent exactly once and in order.
 */
export async function measureBursts(options: BurstsOptions): Promise<BurstsResult> {
  const countsFile = join(tmpdir(), `bench-burst-firestore-${process.pid}-${Date.now()}.json`);
  const preload = new URL('./countFirestore.js', import.meta.url).pathname;
  const stack = await startLocalStack({
    reuseEmulators: true,
    compiled: true,
    env: {
      GOOGLE_CLOUD_PROJECT: options.projectId,
      PUBSUB_EMULATOR_HOST: options.pubsubHost,
      FIRESTORE_EMULATOR_HOST: options.firestoreHost,
      WHATSAPP_APP_SECRET: options.appSecret,
      PUBSUB_TOPIC: 'bench-burst-inbound',
      PUBSUB_TURNS_TOPIC: 'bench-burst-turns',
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      METADATA_SERVER_DETECTION: '',
      // The Firestore-counting preload, as in the pipeline phase (inert in the webhook).
      NODE_OPTIONS: `${options.nodeOptions || process.env.NODE_OPTIONS || ''} --import=${preload}`.trim(),
      BENCH_FIRESTORE_COUNTS: countsFile,
    },
  });
  try {
    // The worker's own defaults, as it parses them from the settings it runs with.
    const config = loadConfig(workerConfigSchema, stack.env);
    if (config.BURST_WINDOW_MS === 0) throw new Error('bursts: the worker runs with BURST_WINDOW_MS=0; unset it to bench the default');
    stack.agent!.latencyMs = 0;
    const pool = openPool(new URL(stack.webhookUrl).origin, 16);
    let nextUser = 700_000;

    const lonePass = async (tag: string, users: number[], count: number): Promise<LonePass> => {
      const bodies = Array.from({ length: count }, (_, i) => body(users[i % users.length]!, `${tag} ${i}`, options.appSecret));
      const postedAt = new Map<string, number>();
      const pids = { webhook: stack.webhook.child.pid!, worker: stack.worker.child.pid! };
      const before = {
        cpu: { webhook: cpuMs(pids.webhook), worker: cpuMs(pids.worker) },
        firestore: await readFirestoreCounts(pids.worker, countsFile),
        agent: stack.agent!.calls.length,
        graph: stack.sandbox!.requests.length,
      };
      const start = performance.now();
      await Promise.all(
        bodies.map(async (b, i) => {
          await sleep(Math.max(0, start + (i * 1000) / options.loneRate - performance.now()));
          postedAt.set(b.text, Date.now());
          if ((await postWebhook(pool, b)) !== 200) throw new Error(`bursts: the webhook refused ${b.text}`);
        }),
      );
      const replies = await waitForReplies(stack, bodies.map((b) => b.text), 60_000);
      const latencies = [...replies].map(([text, at]) => at - postedAt.get(text)!);
      // The last write (the reply recorded as sent) follows the send the sandbox saw.
      await sleep(1000);
      const n = bodies.length;
      const graph = stack.sandbox!.requests.slice(before.graph);
      return {
        messages: n,
        replied: replies.size,
        latency: summarise(latencies),
        perMessage: {
          cpuMs: { webhook: (cpuMs(pids.webhook) - before.cpu.webhook) / n, worker: (cpuMs(pids.worker) - before.cpu.worker) / n },
          firestore: firestorePerMessage(before.firestore, await readFirestoreCounts(pids.worker, countsFile), n),
          agentCalls: (stack.agent!.calls.length - before.agent) / n,
          graphCalls: graph.length / n,
          graphBodyBytes: graph.reduce((sum, call) => sum + Buffer.byteLength(JSON.stringify(call.body ?? '')), 0) / n,
        },
      };
    };

    // Lone messages come from LONE_USERS returning users in turn (each user's messages
    // LONE_USERS / loneRate apart, well past the window); each user's first message, which
    // creates its session, is sent in an uncounted warm-up pass.
    const returningUsers = () => Array.from({ length: LONE_USERS }, () => nextUser++);
    const window = stack.env.BURST_WINDOW_MS;
    stack.env.BURST_WINDOW_MS = '0';
    await stack.restart('worker');
    const offUsers = returningUsers();
    await lonePass('loneWarmOff', offUsers, offUsers.length);
    options.log(`  lone messages, bursts off: ${options.loneMessages} at ${options.loneRate}/s from ${LONE_USERS} returning users`);
    const loneOff = await lonePass('loneOff', offUsers, options.loneMessages);
    if (window === undefined) delete stack.env.BURST_WINDOW_MS;
    else stack.env.BURST_WINDOW_MS = window;
    await stack.restart('worker');
    const onUsers = returningUsers();
    await lonePass('loneWarmOn', onUsers, onUsers.length);
    options.log(`  lone messages, bursts on (window ${config.BURST_WINDOW_MS} ms): ${options.loneMessages} at ${options.loneRate}/s from ${LONE_USERS} returning users`);
    const loneOn = await lonePass('loneOn', onUsers, options.loneMessages);
    options.log(`    p50 ${loneOff.latency.p50.toFixed(0)} ms off, ${loneOn.latency.p50.toFixed(0)} ms on`);

    options.log(`  bursty users: ${options.burstyUsers}, 3–6 messages each, 100–800 ms apart`);
    const bursty = await burstyRun(stack, pool, options, () => nextUser++);
    options.log(`    ${bursty.agentCalls} agent calls for ${bursty.messages} messages`);
    await pool.close();
    return {
      windowMs: config.BURST_WINDOW_MS,
      maxWaitMs: config.BURST_MAX_WAIT_MS,
      loneRate: options.loneRate,
      loneOff,
      loneOn,
      addedP50: loneOn.latency.p50 - loneOff.latency.p50,
      bursty,
    };
  } finally {
    rmSync(countsFile, { force: true });
    await stack.stop();
  }
}

/** The sandbox time of the first reply that echoes each text (the local agent answers "Echo #n: <input>"). */
async function waitForReplies(stack: LocalStack, texts: string[], timeoutMs: number): Promise<Map<string, number>> {
  const wanted = new Set(texts);
  const found = new Map<string, number>();
  const deadline = Date.now() + timeoutMs;
  while (found.size < wanted.size && Date.now() < deadline) {
    for (const message of stack.sandbox!.sent()) {
      for (const line of (message.text ?? '').replace(/^Echo #\d+: /, '').split('\n')) {
        if (wanted.has(line) && !found.has(line)) found.set(line, message.time);
      }
    }
    if (found.size < wanted.size) await sleep(100);
  }
  return found;
}

async function burstyRun(stack: LocalStack, pool: ReturnType<typeof openPool>, options: BurstsOptions, newUser: () => number): Promise<BurstyRun> {
  const random = seededRandom(12);
  const agent = stack.agent!;
  const callsBefore = agent.calls.length;
  const sentBefore = stack.sandbox!.sent().length;
  const users = Array.from({ length: options.burstyUsers }, () => {
    const user = newUser();
    const count = 3 + Math.floor(random() * 4);
    return { user, phone: benchPhone(user), texts: Array.from({ length: count }, (_, m) => `bursty ${user} ${m}`), gaps: Array.from({ length: count }, () => 100 + random() * 700) };
  });
  const lastPostedAt = new Map<string, number>();
  await Promise.all(
    users.map(async (u, i) => {
      // Users start 1.5 s apart, so the emulator's 2 pushes in flight per subscription are not the bottleneck.
      await sleep(i * 1500);
      for (const [m, text] of u.texts.entries()) {
        if (m > 0) await sleep(u.gaps[m]!);
        const posted = Date.now();
        if ((await postWebhook(pool, body(u.user, text, options.appSecret))) !== 200) throw new Error(`bursts: the webhook refused ${text}`);
        if (m === u.texts.length - 1) lastPostedAt.set(text, posted);
      }
    }),
  );
  const all = users.flatMap((u) => u.texts);
  const replies = await waitForReplies(stack, all, 120_000);
  // Room for a second agent call or reply to show up if there were one.
  await sleep(2000);

  const calls = agent.calls.slice(callsBefore).filter((call) => call.text.startsWith('bursty '));
  const seen = new Map<string, number>();
  let orderInversions = 0;
  for (const u of users) {
    const mine = calls.filter((call) => call.text.startsWith(`bursty ${u.user} `));
    let last = -1;
    for (const call of mine) {
      for (const line of call.text.split('\n')) {
        seen.set(line, (seen.get(line) ?? 0) + 1);
        const index = u.texts.indexOf(line);
        if (index <= last) orderInversions += 1;
        last = Math.max(last, index);
      }
    }
  }
  const replyCount = stack.sandbox!.sent().slice(sentBefore).filter((m) => /^Echo #\d+: bursty /.test(m.text ?? '')).length;
  const toReply = users.flatMap((u) => {
    const lastText = u.texts.at(-1)!;
    return replies.has(lastText) ? [replies.get(lastText)! - lastPostedAt.get(lastText)!] : [];
  });
  return {
    users: users.length,
    messages: all.length,
    agentCalls: calls.length,
    replies: replyCount,
    lost: all.filter((text) => !seen.has(text)).length,
    duplicated: all.filter((text) => (seen.get(text) ?? 0) > 1).length,
    orderInversions,
    lastMessageToReply: summarise(toReply),
  };
}
