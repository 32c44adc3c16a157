import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { stopProcess } from './emulators.js';

const root = fileURLToPath(new URL('../', import.meta.url));
// The CLI is not in the package's exports; find it beside the resolved entry.
export const frameworkMain = createRequire(import.meta.url)
  .resolve('@google-cloud/functions-framework')
  .replace(/index\.js$/, 'main.js');

export interface FunctionProcess {
  target: string;
  url: string;
  child: ChildProcess;
  /** Every line the function wrote, for tests that read the logs. */
  lines: string[];
  stop(): Promise<void>;
}

/**
 * Runs one function under the functions-framework CLI, as Cloud Functions does, with the
 * TypeScript sources loaded through tsx (or, when `compiled` is set, the bundle `dist/functions/index.js`
 * that esbuild.config.mjs writes and deployments run).
 */
export async function startFunction(options: {
  target: 'webhook' | 'worker';
  port: number;
  env: Record<string, string | undefined>;
  compiled?: boolean;
  onLine?: (line: string) => void;
}): Promise<FunctionProcess> {
  const source = options.compiled ? 'dist/functions/index.js' : 'functions/index.ts';
  const child = spawn(
    process.execPath,
    [
      ...(options.compiled ? [] : ['--import', 'tsx']),
      frameworkMain,
      `--target=${options.target}`,
      `--port=${options.port}`,
      `--source=${source}`,
    ],
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
    const text = partial + chunk.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      options.onLine?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 30_000;
  while (true) {
    if (child.exitCode !== null) {
      throw new Error(`${options.target} exited with code ${child.exitCode}:\n${lines.slice(-30).join('\n')}`);
    }
    // Our own process must have bound the port: another process may have taken a port freePort chose.
    const listening = options.env.NODE_ENV === 'production' || lines.some((line) => line.includes('Serving function'));
    try {
      if (listening) {
        await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
        break;
      }
      throw new Error('not listening yet');
    } catch {
      if (Date.now() > deadline) {
        await stopProcess(child);
        throw new Error(`${options.target} did not start within 30 s:\n${lines.slice(-30).join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { target: options.target, url, child, lines, stop: () => stopProcess(child) };
}
