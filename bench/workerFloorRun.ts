import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { LocalStack } from '../local/stack.js';
import { withProductionNodeOptions } from '../local/productionRuntime.js';
import { DEFAULT_PHONE_NUMBER_ID } from '../local/webhookBodies.js';
import { root } from './ffProcess.js';

export interface WorkerFloor {
  messages: number;
  rate: number;
  /** CPU time of the floor's process per message over the fixed-rate run: every call of a message. */
  cpuMsPerMessage: number;
  /** The same with the Firestore calls alone (no agent, no Graph). */
  firestoreCpuMsPerMessage: number;
}

/**
 * Runs bench/workerFloor.ts (a message's calls through the worker's clients, none of its own code)
 * on the stack's emulators, local agent and sandbox, bundled as the worker is and under the
 * worker's NODE_OPTIONS, in a process of its own.
 */
export async function measureWorkerFloor(
  stack: LocalStack,
  options: { messages: number; users: number; rate: number; nodeOptions?: string },
): Promise<WorkerFloor> {
  const outfile = `${root}dist/bench/workerFloor.mjs`;
  await build({ entryPoints: [`${root}bench/workerFloor.ts`], outfile, bundle: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'warning' });
  const all = await runFloor(outfile, stack, options, 'all');
  const firestore = await runFloor(outfile, stack, options, 'firestore');
  return { messages: options.messages, rate: options.rate, cpuMsPerMessage: all, firestoreCpuMsPerMessage: firestore };
}

async function runFloor(
  outfile: string,
  stack: LocalStack,
  options: { messages: number; users: number; rate: number; nodeOptions?: string },
  calls: 'all' | 'firestore',
): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [outfile], {
    cwd: root,
    timeout: 10 * 60_000,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      NODE_OPTIONS: withProductionNodeOptions('worker', options.nodeOptions),
      GOOGLE_CLOUD_PROJECT: stack.projectId,
      FIRESTORE_EMULATOR_HOST: stack.env.FIRESTORE_EMULATOR_HOST,
      AGENT_ENGINE: stack.env.AGENT_ENGINE,
      VERTEX_API_ENDPOINT: stack.env.VERTEX_API_ENDPOINT,
      GRAPH_API_BASE_URL: stack.env.GRAPH_API_BASE_URL,
      FLOOR_ACCESS_TOKEN: stack.env.WHATSAPP_ACCESS_TOKEN,
      FLOOR_PHONE_NUMBER_ID: DEFAULT_PHONE_NUMBER_ID,
      FLOOR_MESSAGES: String(options.messages),
      FLOOR_USERS: String(options.users),
      FLOOR_RATE: String(options.rate),
      FLOOR_CALLS: calls,
    },
  });
  const { cpuMsPerMessage } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { cpuMsPerMessage?: number };
  if (!(typeof cpuMsPerMessage === 'number' && cpuMsPerMessage > 0)) throw new Error(`worker floor: no CPU figure in its output:\n${stdout}`);
  return cpuMsPerMessage;
}
