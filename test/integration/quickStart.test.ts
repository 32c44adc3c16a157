import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { freePorts } from '../../local/freePort.js';
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
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output, stdout: () => stdout };
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
    if (!start || start.child.exitCode !== null) return;
    // Ctrl-C first, so a failed test does not leave the stack's emulators and functions running.
    start.child.kill('SIGINT');
    await Promise.race([start.exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    if (start.child.exitCode === null) (start.child as ChildProcess).kill('SIGKILL');
  });

  async function stackPorts() {
    const [webhook, worker, sandbox, agent, pubsub, firestore, storage] = await freePorts(7);
    return {
      WEBHOOK_PORT: String(webhook),
      WORKER_PORT: String(worker),
      SANDBOX_PORT: String(sandbox),
      LOCAL_AGENT_PORT: String(agent),
      PUBSUB_EMULATOR_HOST: `127.0.0.1:${pubsub}`,
      FIRESTORE_EMULATOR_HOST: `127.0.0.1:${firestore}`,
      STORAGE_EMULATOR_HOST: `127.0.0.1:${storage}`,
    };
  }

  /** npm start, one simulated message answered, Ctrl-C; returns what the start script printed. */
  async function startSimulateStop(env: Record<string, string>) {
    const ports = await stackPorts();
    start = run('scripts/start.ts', [], { ...ports, ...env });
    await waitFor(() => start!.output().includes('webhook ready:'), 150_000, 'the "webhook ready" line', start.output);
    expect(start.output()).toContain(`webhook ready: http://127.0.0.1:${ports.WEBHOOK_PORT}/webhook`);
    expect(start.output()).toMatch(/sandbox chat page: http:\/\/127\.0\.0\.1:\d+\//);
    expect(start.output()).toContain(`media:    gs://local-media in the Cloud Storage stand-in at http://${ports.STORAGE_EMULATOR_HOST}`);

    const simulate = run('scripts/simulate.ts', ['Hola'], ports);
    expect(await simulate.exited).toBe(0);
    expect(simulate.output()).toContain('webhook → 200');
    expect(simulate.output()).toContain('Echo #1: Hola');
    // The worker's last line of the message, before Ctrl-C cuts the output.
    await waitFor(() => start!.stdout().includes('reply sent'), 10_000, 'the worker\'s "reply sent" line', start.output);

    start.child.kill('SIGINT');
    expect(await start.exited).toBe(0);
    // Every part it started is gone: its ports accept no connection.
    for (const port of [ports.WEBHOOK_PORT, ports.WORKER_PORT, ports.SANDBOX_PORT, ports.STORAGE_EMULATOR_HOST.split(':')[1]]) {
      await expect(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    }
    await expect(fetch(`http://${ports.PUBSUB_EMULATOR_HOST}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    return { stdout: start.stdout(), output: start.output() };
  }

  it('brings the stack up, answers a simulated message, and stops everything on Ctrl-C', async () => {
    const { stdout } = await startSimulateStop({});
    // Readable lines, not the functions' JSON.
    expect(stdout).toMatch(/^\[webhook\] INFO {4}inbound message queued {2}wamid=wamid\.\S+ user=\S+/m);
    expect(stdout).toMatch(/^\[worker\] INFO {4}reply sent {2}wamid=/m);
    expect(stdout).not.toMatch(/^\[(webhook|worker)\] \{/m);
  }, 240_000);

  it('with LOG_FORMAT=json prints the functions’ JSON lines untouched: one object per line, nothing else on stdout', async () => {
    const { stdout, output } = await startSimulateStop({ LOG_FORMAT: 'json' });
    const lines = stdout.split('\n').filter((line) => line !== '');
    const entries = lines.map((line) => {
      expect(line, 'a line that is exactly one JSON object').toMatch(/^\{.*\}$/);
      return JSON.parse(line) as { message: string; severity: string; serviceContext: { service: string }; wamid?: string };
    });
    const services = new Set(entries.map((entry) => entry.serviceContext.service));
    expect([...services].sort()).toEqual(['webhook', 'worker']);
    const queued = entries.find((entry) => entry.message === 'inbound message queued');
    expect(queued?.severity).toBe('INFO');
    expect(entries.some((entry) => entry.message === 'reply sent' && entry.wamid === queued?.wamid)).toBe(true);
    // The stack's own notes and the framework's banner still show, on stderr.
    expect(output).toContain('[webhook] Serving function...');
    expect(stdout).not.toContain('webhook ready:');
  }, 240_000);
});
