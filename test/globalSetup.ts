import type { TestProject } from 'vitest/node';
import { emulatorsUnavailableReason, startEmulators } from '../local/emulators.js';
import { freePorts } from '../local/freePort.js';

export type EmulatorHosts = { pubsubHost: string; firestoreHost: string } | { skipReason: string };

declare module 'vitest' {
  export interface ProvidedContext {
    emulators: EmulatorHosts;
  }
}

/** Starts the Pub/Sub and Firestore emulators once for the whole run. */
export default async function setup(project: TestProject) {
  const reason = emulatorsUnavailableReason();
  if (reason) {
    const banner = '!'.repeat(78);
    console.warn(`\n${banner}\nINTEGRATION TESTS SKIPPED: ${reason}.\nInstall the gcloud CLI with the pubsub-emulator and cloud-firestore-emulator components and Java 17+.\n${banner}\n`);
    project.provide('emulators', { skipReason: reason });
    return;
  }
  const [pubsubPort, firestorePort] = await freePorts(2);
  const emulators = await startEmulators({
    pubsubHost: `127.0.0.1:${pubsubPort}`,
    firestoreHost: `127.0.0.1:${firestorePort}`,
    projectId: 'test-project',
  });
  console.log(`emulators for this run: Pub/Sub ${emulators.pubsubHost}, Firestore ${emulators.firestoreHost}`);
  project.provide('emulators', { pubsubHost: emulators.pubsubHost, firestoreHost: emulators.firestoreHost });
  return () => emulators.stop();
}
