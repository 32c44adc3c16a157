import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRestTopic } from '../shared/queue/restPublisher.js';
import { openFirestore, warmUpFirestore } from '../shared/store/openFirestore.js';

export interface RunningEmulators {
  pubsubHost: string;
  firestoreHost: string;
  stop(): Promise<void>;
}

/** Why the gcloud emulators cannot run here, or undefined when they can. */
export function emulatorsUnavailableReason(): string | undefined {
  const gcloud = spawnSync('gcloud', ['--version'], { encoding: 'utf8' });
  if (gcloud.error || gcloud.status !== 0) return 'the gcloud CLI is not installed (https://cloud.google.com/sdk/docs/install)';
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error || java.status !== 0) return 'Java is not installed (the emulators need Java 17+)';
  const components = spawnSync('gcloud', ['components', 'list', '--only-local-state', '--format=value(id)'], {
    encoding: 'utf8',
  });
  const installed = components.stdout ?? '';
  for (const id of ['pubsub-emulator', 'cloud-firestore-emulator']) {
    if (components.status === 0 && !installed.includes(id)) return `the gcloud component ${id} is not installed`;
  }
  return undefined;
}

/** Starts gcloud's Pub/Sub and Firestore emulators on the given loopback addresses and waits until both answer. */
export async function startEmulators(options: {
  pubsubHost: string;
  firestoreHost: string;
  projectId: string;
  log?: (line: string) => void;
}): Promise<RunningEmulators> {
  const processes = [
    launch(['beta', 'emulators', 'pubsub', 'start', `--host-port=${options.pubsubHost}`, `--project=${options.projectId}`]),
    launch(['emulators', 'firestore', 'start', `--host-port=${options.firestoreHost}`]),
  ];
  const stop = async () => {
    await Promise.all(processes.map((emulator) => stopProcess(emulator.child)));
  };
  let warmUpMs = 0;
  try {
    await Promise.all([
      waitUntilUp(`http://${options.pubsubHost}/`, processes[0]!, 'Pub/Sub emulator'),
      waitUntilUp(`http://${options.firestoreHost}/`, processes[1]!, 'Firestore emulator'),
    ]);
    const warmUpStarted = Date.now();
    await Promise.all([warmUpPubSub(options.pubsubHost), warmUpFirestoreEmulator(options.firestoreHost)]);
    warmUpMs = Date.now() - warmUpStarted;
  } catch (error) {
    await stop();
    throw error;
  }
  options.log?.(`emulators ready: Pub/Sub ${options.pubsubHost}, Firestore ${options.firestoreHost} (their first requests, a publish and a transaction, took ${warmUpMs} ms)`);
  return { pubsubHost: options.pubsubHost, firestoreHost: options.firestoreHost, stop };
}

/**
 * An emulator's first request of a kind takes seconds (its JVM loads and compiles that path on
 * first use): the bench measured a fresh stack's first message paying 2.4 s for its first REST
 * publish and 4.5 s for its first Firestore RPC under load, against +22 ms for the functions'
 * own restart on warm emulators. One request of each kind the stack makes, in a project of
 * its own, so the stack's first message does not pay for the emulators' start.
 */
const WARM_UP_PROJECT = 'emulator-warm-up';

/** One ordered publish through the webhook's own REST publisher. */
async function warmUpPubSub(host: string): Promise<void> {
  const topic = 'warm-up';
  const created = await fetch(`http://${host}/v1/projects/${WARM_UP_PROJECT}/topics/${topic}`, { method: 'PUT' });
  if (!created.ok && created.status !== 409) throw new Error(`Pub/Sub emulator warm-up: creating a topic answered ${created.status}`);
  const publisher = createRestTopic({ projectId: WARM_UP_PROJECT, topic, timeoutMs: 60_000, emulatorHost: host });
  try {
    await publisher.publishOrdered({ warmUp: true }, 'warm-up', {});
  } finally {
    await publisher.close();
  }
}

/** The worker's own warm-up: a read in a read-write transaction and its commit. */
async function warmUpFirestoreEmulator(host: string): Promise<void> {
  // The client takes FIRESTORE_EMULATOR_HOST over any setting, when it is built: aim it at this emulator.
  const previous = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = host;
  const db = openFirestore(WARM_UP_PROJECT);
  if (previous === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
  else process.env.FIRESTORE_EMULATOR_HOST = previous;
  try {
    await warmUpFirestore(db);
  } finally {
    await db.terminate();
  }
}

interface Emulator {
  child: ChildProcess;
  /** The last lines it printed, to explain a failed start. */
  recentOutput(): string;
}

function launch(args: string[]): Emulator {
  // Own process group: gcloud starts a Java child that must die with it.
  const child = spawn('gcloud', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, recentOutput: () => output.join('') };
}

async function waitUntilUp(url: string, emulator: Emulator, name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (emulator.child.exitCode !== null) {
      throw new Error(`${name} exited with code ${emulator.child.exitCode}:\n${emulator.recentOutput().slice(-2000)}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`${name} did not start within ${timeoutMs / 1000} s`);
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}
