import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SignedBody } from './bodies.js';
import { firstPost, spawnFf } from './ffProcess.js';
import { freePort } from '../local/freePort.js';
import { memoryMiB } from './procStats.js';
import { median } from './stats.js';

export interface FunctionSpec {
  name: string;
  target: string;
  source: string;
  env: Record<string, string | undefined>;
}

export interface ColdStartRun {
  name: string;
  /** spawn → first 200 on a signed POST, ms, one per start. */
  firstOkMs: number[];
  /** spawn → the port accepted the connection that got that 200, ms. */
  listeningMs: number[];
  median: number;
  medianListening: number;
  peakRssMiB: number[];
}

/**
 * Cold start as a Cloud Functions instance pays it: process spawn → first 200 on a signed POST
 * (for the webhook that includes its first publish). Starts alternate between the functions.
 */
export async function measureColdStarts(
  specs: FunctionSpec[],
  starts: number,
  nextBody: () => SignedBody,
  log: (line: string) => void,
): Promise<ColdStartRun[]> {
  const runs = specs.map((spec) => ({ spec, firstOkMs: [] as number[], listeningMs: [] as number[], peakRssMiB: [] as number[] }));
  for (let i = 0; i < starts; i += 1) {
    const order = i % 2 === 0 ? runs : [...runs].reverse();
    for (const run of order) {
      const port = await freePort();
      const fn = spawnFf({ target: run.spec.target, source: run.spec.source, port, env: run.spec.env });
      try {
        const { sentAt, status } = await firstPost(fn, nextBody());
        const done = performance.now();
        if (status !== 200) throw new Error(`${run.spec.name}: first POST answered ${status}:\n${fn.recentOutput()}`);
        run.firstOkMs.push(done - fn.spawnedAt);
        run.listeningMs.push(sentAt - fn.spawnedAt);
        run.peakRssMiB.push(memoryMiB(fn.pid).peakRss);
        log(`  start ${i + 1}/${starts} ${run.spec.name}: first 200 after ${(done - fn.spawnedAt).toFixed(0)} ms`);
      } finally {
        await fn.stop();
      }
    }
  }
  return runs.map((run) => ({
    name: run.spec.name,
    firstOkMs: run.firstOkMs,
    listeningMs: run.listeningMs,
    median: median(run.firstOkMs),
    medianListening: median(run.listeningMs),
    peakRssMiB: run.peakRssMiB,
  }));
}

export interface ModuleCensus {
  total: number;
  builtins: number;
  app: string[];
  packages: { name: string; modules: number }[];
  forbiddenLoaded: string[];
  hooks: boolean;
}

const FORBIDDEN = ['@google-cloud/firestore', '@google-cloud/aiplatform'];

/** Starts the webhook once more with a module-recording preload, answers one POST, and lists what it loaded. */
export async function moduleCensus(spec: FunctionSpec, body: SignedBody): Promise<ModuleCensus> {
  const file = join(tmpdir(), `bench-modules-${process.pid}-${Date.now()}.json`);
  const preload = new URL('./recordModules.js', import.meta.url).pathname;
  const fn = spawnFf({
    target: spec.target,
    source: spec.source,
    port: await freePort(),
    env: { ...spec.env, BENCH_MODULES_FILE: file },
    nodeArgs: [`--import=${preload}`],
  });
  try {
    const { status } = await firstPost(fn, body);
    if (status !== 200) throw new Error(`module census: first POST answered ${status}`);
    process.kill(fn.pid, 'SIGUSR2');
    let dump: { hooks: boolean; modules: string[] } | undefined;
    for (let i = 0; i < 100 && !dump; i += 1) {
      try {
        dump = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        await sleep(50);
      }
    }
    if (!dump) throw new Error('module census: the preload wrote no list');
    const packages = new Map<string, number>();
    const app: string[] = [];
    let builtins = 0;
    const rootUrl = new URL('../', import.meta.url).href;
    for (const url of dump.modules) {
      if (url.startsWith('node:') || !url.startsWith('file:')) {
        builtins += 1;
        continue;
      }
      const name = packageOf(url);
      if (name) packages.set(name, (packages.get(name) ?? 0) + 1);
      else app.push(url.replace(rootUrl, ''));
    }
    const names = [...packages.entries()].map(([name, modules]) => ({ name, modules })).sort((a, b) => b.modules - a.modules);
    return {
      total: dump.modules.length - builtins,
      builtins,
      app: app.filter((path) => !path.includes('bench/')),
      packages: names,
      forbiddenLoaded: FORBIDDEN.filter((name) => packages.has(name)),
      hooks: dump.hooks,
    };
  } finally {
    await fn.stop();
    rmSync(file, { force: true });
  }
}

/** The innermost node_modules package a module URL belongs to. */
function packageOf(url: string): string | undefined {
  const at = url.lastIndexOf('/node_modules/');
  if (at === -1) return undefined;
  const [first, second] = url.slice(at + '/node_modules/'.length).split('/');
  return first?.startsWith('@') ? `${first}/${second}` : first;
}
