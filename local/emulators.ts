import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

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
  try {
    await Promise.all([
      waitUntilUp(`http://${options.pubsubHost}/`, processes[0]!, 'Pub/Sub emulator'),
      waitUntilUp(`http://${options.firestoreHost}/`, processes[1]!, 'Firestore emulator'),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  options.log?.(`emulators ready: Pub/Sub ${options.pubsubHost}, Firestore ${options.firestoreHost}`);
  return { pubsubHost: options.pubsubHost, firestoreHost: options.firestoreHost, stop };
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
