import type { SignedBody } from './bodies.js';
import type { FfProcess } from './ffProcess.js';
import { fixedRate, openPool, saturate, type LoadResult } from './load.js';
import { cpuMs, memoryMiB, runQueueWaitMs } from './procStats.js';
import { summarise, type Summary } from './stats.js';

/** One server's fixed-rate windows. */
export interface FixedRateRun {
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
  /** Time the server's main thread waited for a CPU while runnable, per request (scheduler delay). */
  runQueueWaitMsPerRequest: number;
  /** Per fixed-rate window: p99 latency and run-queue wait per request, to correlate them. */
  windows: { p99: number; runQueueWaitMsPerRequest: number; cpuMsPerRequest: number }[];
}

export interface ServerRun extends FixedRateRun {
  saturation: { rps: number; concurrency: number; ok: number; requests: number; cpuMsPerRequest: number; latency: Summary };
  /** VmHWM after the fixed-rate windows, and after the saturation run, MiB. */
  peakRssFixedMiB: number;
  peakRssMiB: number;
  /** CPU the Pub/Sub emulator spent per request during this server's fixed-rate windows, ms. */
  emulatorCpuMsPerRequest?: number;
}

export interface RateProbe {
  tried: { rate: number; achieved: number; p50: number }[];
}

export interface EfficiencyResult {
  rate: number;
  rateChosen: 'given' | 'probed';
  probe?: RateProbe;
  windowMs: number;
  rounds: number;
  servers: ServerRun[];
  /**
   * The same interleaved fixed-rate windows with the webhook publishing to the Pub/Sub stand-in
   * (bench/pubsubStandIn.js) instead of the emulator, beside the bare handler at that rate: the
   * webhook's own CPU and latency, without the emulator's JVM on the same cores.
   */
  standIn?: {
    rate: number;
    rateChosen: 'given' | 'probed';
    probe?: RateProbe;
    servers: FixedRateRun[];
    /** CPU the stand-in process spent per request during the webhook's windows, ms. */
    standInCpuMsPerRequest: number;
  };
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
  /** A second webhook, publishing to the Pub/Sub stand-in (process `standInPid`), measured beside `bare`. */
  standIn?: { fn: FfProcess; standInPid: number };
  log: (line: string) => void;
}

/**
 * Both servers are up at once and take turns: round r sends `durationMs / rounds` of fixed-rate
 * load to one, then the other (order alternating), so drift in the machine's background load
 * falls on both alike. CPU comes from the server process's own accounting (/proc/<pid>/stat
 * utime + stime), read right before and after each window. The rate probe runs on `webhook`.
 * With `options.standIn`, the same is then done for the bare handler and the webhook publishing
 * to the stand-in, at the rate that webhook sustains (its own probe).
 */
export async function measureEfficiency(
  servers: { name: string; fn: FfProcess }[],
  bodies: Iterator<SignedBody>,
  options: EfficiencyOptions,
): Promise<EfficiencyResult> {
  const state = servers.map(({ name, fn }) => ({ name, fn, pool: openPool(fn.url, 64) }));
  const standIn = options.standIn ? { name: 'webhook, stand-in', fn: options.standIn.fn, pool: openPool(options.standIn.fn.url, 64) } : undefined;
  const warmRate = Math.min(100, options.maxRate);
  for (const server of standIn ? [...state, standIn] : state) {
    options.log(`  warm-up ${server.name}: ${options.warmupRequests} requests at ${warmRate}/s`);
    await fixedRate(server.pool, bodies, warmRate, (options.warmupRequests * 1000) / warmRate);
  }

  const webhook = state.find((server) => server.name === 'webhook') ?? state.at(-1)!;
  const { rate, probe } = options.rate ? { rate: options.rate, probe: undefined } : await probeRate(webhook, bodies, options);
  const windowMs = options.durationMs / options.rounds;
  const runs = await interleavedWindows(state, bodies, rate, windowMs, options);
  const peakRssFixed = new Map(state.map((server) => [server.name, memoryMiB(server.fn.pid).peakRss]));

  let standInResult: EfficiencyResult['standIn'];
  if (standIn && options.standIn) {
    options.log('  the webhook against the Pub/Sub stand-in, beside the bare handler:');
    const bare = state.find((server) => server.name === 'bare') ?? state[0]!;
    const standInRate = options.rate ? { rate: options.rate, probe: undefined } : await probeRate(standIn, bodies, options);
    const standInPid = options.standIn.standInPid;
    const pairRuns = await interleavedWindows([bare, standIn], bodies, standInRate.rate, windowMs, options, { server: standIn.name, pid: standInPid });
    const webhookRun = pairRuns.find((run) => run.name === standIn.name)!;
    standInResult = {
      rate: standInRate.rate,
      rateChosen: options.rate ? 'given' : 'probed',
      ...(standInRate.probe ? { probe: standInRate.probe } : {}),
      servers: pairRuns.map(({ run }) => run),
      standInCpuMsPerRequest: webhookRun.extraCpu / webhookRun.run.requests,
    };
    await standIn.pool.close();
  }

  const results: ServerRun[] = [];
  for (const server of state) {
    const before = cpuMs(server.fn.pid);
    const sat = await saturate(server.pool, bodies, options.saturationConcurrency, options.saturationMs);
    const satCpu = cpuMs(server.fn.pid) - before;
    options.log(`  saturation ${server.name}: ${((sat.ok * 1000) / sat.elapsedMs).toFixed(0)} req/s with ${options.saturationConcurrency} in flight`);
    const { run, extraCpu } = runs.find((entry) => entry.name === server.name)!;
    results.push({
      ...run,
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
      ...(options.emulatorPid ? { emulatorCpuMsPerRequest: extraCpu / run.requests } : {}),
    });
    await server.pool.close();
  }
  return {
    rate,
    rateChosen: options.rate ? 'given' : 'probed',
    ...(probe ? { probe } : {}),
    windowMs,
    rounds: options.rounds,
    servers: results,
    ...(standInResult ? { standIn: standInResult } : {}),
  };
}

interface Target {
  name: string;
  fn: FfProcess;
  pool: ReturnType<typeof openPool>;
}

/**
 * The highest rate of the ladder at which `server` (with its Pub/Sub on the same cores) keeps up:
 * ≥ 97% of the offered rate completed and a median under 25 ms (no queue building).
 */
async function probeRate(server: Target, bodies: Iterator<SignedBody>, options: EfficiencyOptions): Promise<{ rate: number; probe: RateProbe }> {
  const tried: RateProbe['tried'] = [];
  let rate = options.maxRate;
  // Two tries per rung: one 3 s trial can land on a burst of the neighbours' load.
  ladder: for (const candidate of ladder(options.maxRate)) {
    rate = candidate;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const trial = await fixedRate(server.pool, bodies, candidate, 3000);
      const achieved = (trial.ok * 1000) / trial.elapsedMs;
      const p50 = summarise(trial.latencies).p50;
      tried.push({ rate: candidate, achieved, p50 });
      options.log(`  probe ${candidate} req/s: ${server.name} completed ${achieved.toFixed(0)} req/s, p50 ${p50.toFixed(1)} ms`);
      if (achieved >= candidate * 0.97 && p50 <= 25) break ladder;
    }
  }
  options.log(`  fixed rate: ${rate} req/s`);
  return { rate, probe: { tried } };
}

/**
 * `servers` take turns in `options.rounds` windows each at `rate`, after 2 s each at that rate.
 * `extra` is a process whose CPU is charged to one server's windows (the Pub/Sub emulator's JVM
 * or the stand-in); without it, the emulator's CPU is charged to every server's windows.
 */
async function interleavedWindows(
  servers: Target[],
  bodies: Iterator<SignedBody>,
  rate: number,
  windowMs: number,
  options: EfficiencyOptions,
  extra?: { server: string; pid: number },
): Promise<{ name: string; run: FixedRateRun; extraCpu: number }[]> {
  const state = servers.map((server) => ({ ...server, runs: [] as LoadResult[], cpu: 0, extraCpu: 0, wall: 0, wait: 0, windows: [] as FixedRateRun['windows'] }));
  for (const server of state) await fixedRate(server.pool, bodies, rate, 2000);
  for (let round = 0; round < options.rounds; round += 1) {
    const order = round % 2 === 0 ? state : [...state].reverse();
    for (const server of order) {
      const extraPid = extra ? (extra.server === server.name ? extra.pid : undefined) : options.emulatorPid;
      const before = cpuMs(server.fn.pid);
      const waitBefore = runQueueWaitMs(server.fn.pid);
      const extraBefore = extraPid ? cpuMs(extraPid) : 0;
      const result = await fixedRate(server.pool, bodies, rate, windowMs);
      const used = cpuMs(server.fn.pid) - before;
      const waited = runQueueWaitMs(server.fn.pid) - waitBefore;
      server.cpu += used;
      server.wait += waited;
      if (extraPid) server.extraCpu += cpuMs(extraPid) - extraBefore;
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
  return state.map((server) => {
    const latencies = server.runs.flatMap((run) => run.latencies);
    const requests = server.runs.reduce((sum, run) => sum + run.sent, 0);
    const statuses: Record<string, number> = {};
    for (const run of server.runs) for (const [k, v] of Object.entries(run.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    return {
      name: server.name,
      extraCpu: server.extraCpu,
      run: {
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
      },
    };
  });
}

function ladder(maxRate: number): number[] {
  const rates = [maxRate];
  for (const step of [250, 200, 150, 100, 50, 25]) if (step < maxRate) rates.push(step);
  return rates;
}
