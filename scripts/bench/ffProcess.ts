import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { stopProcess } from '../local/emulators.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
const frameworkMain = createRequire(import.meta.url)
  .resolve('@google-cloud/functions-framework')
  .replace(/index\.js$/, 'main.js');

export interface FfProcess {
  target: string;
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Wall-clock (performance.now) just before spawn. */
  spawnedAt: number;
  lines: string[];
  exited(): boolean;
  stop(): Promise<void>;
}

/**
 * Spawns one function under the functions-framework CLI exactly as Cloud Functions runs it
 * (`node …/functions-framework/build/src/main.js --target --source`), from `source` relative to
 * the repo root. `nodeArgs` go before the CLI (e.g. `--import` preloads, `--cpu-prof`).
 * Returns at once; use waitHealthy or poll yourself.
 */
export function spawnFf(options: {
  target: string;
  source: string;
  port: number;
  env: Record<string, string | undefined>;
  nodeArgs?: string[];
  keepLines?: number;
}): FfProcess {
  const keep = options.keepLines ?? 200;
  const spawnedAt = performance.now();
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), frameworkMain, `--target=${options.target}`, `--port=${options.port}`, `--source=${options.source}`],
    {
      cwd: root,
      env: { ...process.env, ...options.env, FUNCTION_TARGET: options.target, PORT: String(options.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  const lines: string[] = [];
  let partial = '';
  const collect = (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (lines.length > keep) lines.shift();
    }
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  return {
    target: options.target,
    url: `http://127.0.0.1:${options.port}`,
    port: options.port,
    pid: child.pid!,
    child,
    spawnedAt,
    lines,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop: () => stopProcess(child),
  };
}

/** Waits until GET /healthz (or any path) answers at all: the process is listening. */
export async function waitListening(fn: FfProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (fn.exited()) throw new Error(`${fn.target} exited (${fn.child.exitCode ?? fn.child.signalCode}):\n${fn.lines.slice(-30).join('\n')}`);
    try {
      const response = await fetch(`${fn.url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline) {
        await fn.stop();
        throw new Error(`${fn.target} did not start within ${timeoutMs / 1000} s:\n${fn.lines.slice(-30).join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
