import type { SignedBody } from './bodies.js';
import type { FfProcess } from './ffProcess.js';
import { fixedRate, openPool, saturate, type LoadResult } from './load.js';
import { cpuMs, memoryMiB, runQueueWaitMs } from './procStats.js';
import { summarise, type Summary } from './stats.js';

export interface ServerRun {
  name: string;
  requests: number;
  ok: number;
  statuses: Record<string, number>;
  cpuMsPerRequest: number;
  /** Share of one core the server used during the fixed-rate windows. */
  cpuShare: number;
  latency: Summary;
  latencies: number[];
  /** p99 of how late the generator dispatched against its schedule, ms. */
  lagP99: number;
  achievedRate: number;
  saturation: { rps: number; concurrency: number; ok: number; requests: number; cpuMsPerRequest: number; latency: Summary };
  /** VmHWM after the fixed-rate windows, and after the saturation run, MiB. */
  peakRssFixedMiB: number;
  peakRssMiB: number;
  /** Time the server's main thread waited for a CPU while runnable, per request (scheduler delay). */
  runQueueWaitMsPerRequest: number;
  /** Per fixed-rate window: p99 latency and run-queue wait per request, to correlate them. */
  windows: { p99: number; runQueueWaitMsPerRequest: number; cpuMsPerRequest: number }[];
  /** CPU the Pub/Sub emulator spent per request during this server's fixed-rate windows, ms. */
  emulatorCpuMsPerRequest?: number;
}

export interface EfficiencyResult {
  rate: number;
  rateChosen: 'given' | 'probed';
  probe?: { tried: { rate: number; achieved: number; p50: number }[] };
  windowMs: number;
  rounds: number;
  servers: ServerRun[];
}

export interface EfficiencyOptions {
  /** Fixed rate; 0 = the highest of maxRate, 250, 200, … the webhook sustains here (3 s trials, two per rate). */
  rate: number;
  maxRate: number;
  /** Total fixed-rate time per server, split into `rounds` interleaved windows. */
  durationMs: number;
  rounds: number;
  warmupRequests: number;
  saturationMs: number;
  saturationConcurrency: number;
  /** The Pub/Sub emulator's JVM, to account its CPU too (it shares the cores). */
  emulatorPid?: number;
  log: (line: string) => void;
}

/**
 * Both servers are up at once and take turns: round r sends `durationMs / rounds` of fixed-rate
 * load to one, then the other (order alternating), so drift in the machine's background load
 * falls on both alike. CPU comes from the server process's own accounting (/proc/<pid>/stat
 * utime + stime), read right before and after each window. The rate probe runs on `webhook`.
 */
export async function measureEfficiency(
  servers: { name: string; fn: FfProcess }[],
  bodies: Iterator<SignedBody>,
  options: EfficiencyOptions,
): Promise<EfficiencyResult> {
  const state = servers.map(({ name, fn }) => ({ name, fn, pool: openPool(fn.url, 64), runs: [] as LoadResult[], cpu: 0, emulatorCpu: 0, wall: 0, wait: 0, windows: [] as ServerRun['windows'] }));
  const warmRate = Math.min(100, options.maxRate);
  for (const server of state) {
    options.log(`  warm-up ${server.name}: ${options.warmupRequests} requests at ${warmRate}/s`);
    await fixedRate(server.pool, bodies, warmRate, (options.warmupRequests * 1000) / warmRate);
  }

  let rate = options.rate;
  let probe: EfficiencyResult['probe'];
  if (!rate) {
    // The highest rate of the ladder at which the webhook (with the emulator on the same cores)
    // keeps up: ≥ 97% of the offered rate completed and a median under 25 ms (no queue building).
    const webhook = state.find((server) => server.name === 'webhook') ?? state.at(-1)!;
    const tried: { rate: number; achieved: number; p50: number }[] = [];
    // Two tries per rung: one 3 s trial can land on a burst of the neighbours' load.
    ladder: for (const candidate of ladder(options.maxRate)) {
      rate = candidate;
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const trial = await fixedRate(webhook.pool, bodies, candidate, 3000);
        const achieved = (trial.ok * 1000) / trial.elapsedMs;
        const p50 = summarise(trial.latencies).p50;
        tried.push({ rate: candidate, achieved, p50 });
        options.log(`  probe ${candidate} req/s: webhook completed ${achieved.toFixed(0)} req/s, p50 ${p50.toFixed(1)} ms`);
        if (achieved >= candidate * 0.97 && p50 <= 25) break ladder;
      }
    }
    probe = { tried };
    options.log(`  fixed rate: ${rate} req/s`);
  }

  for (const server of state) await fixedRate(server.pool, bodies, rate, 2000);

  const windowMs = options.durationMs / options.rounds;
  for (let round = 0; round < options.rounds; round += 1) {
    const order = round % 2 === 0 ? state : [...state].reverse();
    for (const server of order) {
      const before = cpuMs(server.fn.pid);
      const waitBefore = runQueueWaitMs(server.fn.pid);
      const emulatorBefore = options.emulatorPid ? cpuMs(options.emulatorPid) : 0;
      const result = await fixedRate(server.pool, bodies, rate, windowMs);
      const used = cpuMs(server.fn.pid) - before;
      const waited = runQueueWaitMs(server.fn.pid) - waitBefore;
      server.cpu += used;
      server.wait += waited;
      if (options.emulatorPid) server.emulatorCpu += cpuMs(options.emulatorPid) - emulatorBefore;
      server.wall += result.elapsedMs;
      server.runs.push(result);
      const p99 = summarise(result.latencies).p99;
      server.windows.push({ p99, runQueueWaitMsPerRequest: waited / result.sent, cpuMsPerRequest: used / result.sent });
      options.log(
        `  round ${round + 1}/${options.rounds} ${server.name.padEnd(7)} ${result.ok}/${result.sent} ok, ` +
          `${(used / result.sent).toFixed(3)} ms CPU/req, p99 ${p99.toFixed(1)} ms, waited for a CPU ${(waited / result.sent).toFixed(3)} ms/req`,
      );
    }
  }
  const peakRssFixed = new Map(state.map((server) => [server.name, memoryMiB(server.fn.pid).peakRss]));

  const results: ServerRun[] = [];
  for (const server of state) {
    const before = cpuMs(server.fn.pid);
    const sat = await saturate(server.pool, bodies, options.saturationConcurrency, options.saturationMs);
    const satCpu = cpuMs(server.fn.pid) - before;
    options.log(`  saturation ${server.name}: ${((sat.ok * 1000) / sat.elapsedMs).toFixed(0)} req/s with ${options.saturationConcurrency} in flight`);
    const latencies = server.runs.flatMap((run) => run.latencies);
    const requests = server.runs.reduce((sum, run) => sum + run.sent, 0);
    const statuses: Record<string, number> = {};
    for (const run of server.runs) for (const [k, v] of Object.entries(run.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    results.push({
      name: server.name,
      requests,
      ok: server.runs.reduce((sum, run) => sum + run.ok, 0),
      statuses,
      cpuMsPerRequest: server.cpu / requests,
      cpuShare: server.cpu / server.wall,
      runQueueWaitMsPerRequest: server.wait / requests,
      windows: server.windows,
      latency: summarise(latencies),
      latencies,
      lagP99: summarise(server.runs.flatMap((run) => run.lags)).p99,
      achievedRate: (requests * 1000) / server.wall,
      saturation: {
        rps: (sat.ok * 1000) / sat.elapsedMs,
        concurrency: options.saturationConcurrency,
        ok: sat.ok,
        requests: sat.sent,
        cpuMsPerRequest: satCpu / Math.max(1, sat.sent),
        latency: summarise(sat.latencies),
      },
      peakRssFixedMiB: peakRssFixed.get(server.name)!,
      peakRssMiB: memoryMiB(server.fn.pid).peakRss,
      ...(options.emulatorPid ? { emulatorCpuMsPerRequest: server.emulatorCpu / requests } : {}),
    });
    await server.pool.close();
  }
  return { rate, rateChosen: options.rate ? 'given' : 'probed', ...(probe ? { probe } : {}), windowMs, rounds: options.rounds, servers: results };
}

function ladder(maxRate: number): number[] {
  const rates = [maxRate];
  for (const step of [250, 200, 150, 100, 50, 25]) if (step < maxRate) rates.push(step);
  return rates;
}
