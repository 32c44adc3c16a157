import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import type { SignedBody } from './bodies.js';
import { postWebhook } from './load.js';
import { stopProcess } from '../local/emulators.js';
import { frameworkMain } from '../local/functionProcess.js';

export const root = fileURLToPath(new URL('../', import.meta.url));

export interface FfProcess {
  target: string;
  url: string;
  pid: number;
  child: ChildProcess;
  /** Wall-clock (performance.now) just before spawn. */
  spawnedAt: number;
  /** The last few KiB the process wrote, for error messages. */
  recentOutput(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/**
 * Spawns one function under the functions-framework CLI as Cloud Functions runs it
 * (`node …/functions-framework/build/src/main.js --target --source`), from `source` relative to
 * the repo root, and returns at once with the spawn time. local/functionProcess.ts
 * (startFunction) runs the same command but only for the app's own entry and waits until the
 * port answers; the bench also needs the bare handler, preloads before the CLI (`nodeArgs`) and
 * the exact spawn time, so it spawns here and waits with firstPost.
 */
export function spawnFf(options: {
  target: string;
  source: string;
  port: number;
  env: Record<string, string | undefined>;
  nodeArgs?: string[];
}): FfProcess {
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
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return {
    target: options.target,
    url: `http://127.0.0.1:${options.port}`,
    pid: child.pid!,
    child,
    spawnedAt,
    recentOutput: () => output,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop: () => stopProcess(child),
  };
}

/**
 * POSTs `body` over a fresh connection until the port accepts one (the process is listening),
 * and returns when that request was sent and how it was answered.
 */
export async function firstPost(fn: FfProcess, body: SignedBody, timeoutMs = 30_000): Promise<{ sentAt: number; status: number }> {
  const deadline = performance.now() + timeoutMs;
  while (true) {
    if (fn.exited()) throw new Error(`${fn.target} exited during start:\n${fn.recentOutput()}`);
    const client = new Client(fn.url, { connect: { timeout: 1000 } });
    const sentAt = performance.now();
    try {
      return { sentAt, status: await postWebhook(client, body) };
    } catch (error) {
      if ((error as { code?: string }).code !== 'ECONNREFUSED') throw error;
      if (performance.now() > deadline) throw new Error(`${fn.target} did not listen within ${timeoutMs / 1000} s:\n${fn.recentOutput()}`);
      await sleep(2);
    } finally {
      await client.close().catch(() => {});
    }
  }
}
