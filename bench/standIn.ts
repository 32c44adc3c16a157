import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { stopProcess } from '../local/emulators.js';
import type { SignedBody } from './bodies.js';
import { root, type FfProcess } from './ffProcess.js';
import { openPool, saturate } from './load.js';
import { cpuMs, memoryMiB } from './procStats.js';
import { summarise, type Summary } from './stats.js';

export interface StandInStats {
  requests: number;
  messages: number;
  /** Pub/Sub's billed data volume before the 1000-byte minimum per request (pubsubStandIn.js). */
  dataBytes: number;
  refused: number;
}

export interface StandInRun {
  concurrency: number;
  requests: number;
  ok: number;
  rps: number;
  cpuMsPerRequest: number;
  latency: Summary;
  peakRssMiB: number;
  /** What the webhook published during the timed window. */
  publish: StandInStats;
}

/** Starts bench/pubsubStandIn.js in its own process; resolves with its port. */
export async function startPubSubStandIn(): Promise<{ host: string; pid: number; stats(): Promise<StandInStats>; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./pubsubStandIn.js', import.meta.url))], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const firstLine = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the Pub/Sub stand-in exited with ${code}`)));
  });
  const host = `127.0.0.1:${(JSON.parse(firstLine) as { port: number }).port}`;
  return {
    host,
    pid: child.pid!,
    stats: async () => (await (await request(`http://${host}/stats`)).body.json()) as StandInStats,
    stop: () => stopProcess(child),
  };
}

/**
 * The webhook's saturation with the Pub/Sub emulator replaced by the stand-in: closed loop with
 * `concurrency` requests in flight, after 3 s of warm-up, CPU from /proc as in phase 1. `fn` is a
 * running webhook whose PUBSUB_EMULATOR_HOST is `standIn`'s (phase 1's fixed-rate windows used it).
 */
export async function saturateAgainstStandIn(
  fn: FfProcess,
  standIn: { stats(): Promise<StandInStats> },
  bodies: Iterator<SignedBody>,
  options: { concurrency: number; durationMs: number; log: (line: string) => void },
): Promise<StandInRun> {
  const pool = openPool(fn.url, options.concurrency);
  // Warm the pool's connections and the JIT at this concurrency before the timed window.
  await saturate(pool, bodies, options.concurrency, 3000);
  const before = { cpu: cpuMs(fn.pid), publish: await standIn.stats() };
  const run = await saturate(pool, bodies, options.concurrency, options.durationMs);
  const after = { cpu: cpuMs(fn.pid), publish: await standIn.stats() };
  await pool.close();
  const rps = (run.ok * 1000) / run.elapsedMs;
  options.log(`  saturation webhook against the Pub/Sub stand-in: ${rps.toFixed(0)} req/s with ${options.concurrency} in flight`);
  return {
    concurrency: options.concurrency,
    requests: run.sent,
    ok: run.ok,
    rps,
    cpuMsPerRequest: (after.cpu - before.cpu) / Math.max(1, run.sent),
    latency: summarise(run.latencies),
    peakRssMiB: memoryMiB(fn.pid).peakRss,
    publish: {
      requests: after.publish.requests - before.publish.requests,
      messages: after.publish.messages - before.publish.messages,
      dataBytes: after.publish.dataBytes - before.publish.dataBytes,
      refused: after.publish.refused - before.publish.refused,
    },
  };
}
