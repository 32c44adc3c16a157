import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../../local/freePort.js';
import { describeWithEmulators } from './testStack.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs a script the way `npm start` / `npm run simulate` do (tsx), collecting its output. */
function run(script: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string, output: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describeWithEmulators('quick start: npm start, then npm run simulate', () => {
  let start: ReturnType<typeof run> | undefined;
  afterAll(async () => {
    if (start && start.child.exitCode === null) (start.child as ChildProcess).kill('SIGKILL');
  });

  it('brings the stack up, answers a simulated message, and stops everything on Ctrl-C', async () => {
    const ports = {
      WEBHOOK_PORT: String(await freePort()),
      WORKER_PORT: String(await freePort()),
      SANDBOX_PORT: String(await freePort()),
      LOCAL_AGENT_PORT: String(await freePort()),
      PUBSUB_EMULATOR_HOST: `127.0.0.1:${await freePort()}`,
      FIRESTORE_EMULATOR_HOST: `127.0.0.1:${await freePort()}`,
    };
    start = run('scripts/start.ts', [], ports);
    await waitFor(() => start!.output().includes('webhook ready:'), 90_000, 'the "webhook ready" line', start.output);
    expect(start.output()).toContain(`webhook ready: http://127.0.0.1:${ports.WEBHOOK_PORT}/webhook`);
    expect(start.output()).toMatch(/sandbox chat page: http:\/\/127\.0\.0\.1:\d+\//);

    const simulate = run('scripts/simulate.ts', ['Hola'], ports);
    expect(await simulate.exited).toBe(0);
    expect(simulate.output()).toContain('webhook → 200');
    expect(simulate.output()).toContain('Echo #1: Hola');

    start.child.kill('SIGINT');
    expect(await start.exited).toBe(0);
    // Every part it started is gone: its ports accept no connection.
    for (const port of [ports.WEBHOOK_PORT, ports.WORKER_PORT, ports.SANDBOX_PORT]) {
      await expect(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    }
    await expect(fetch(`http://${ports.PUBSUB_EMULATOR_HOST}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });
});
