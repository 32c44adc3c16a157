import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { WorkerConfig } from '../../shared/config/config.js';
import { createLogger } from '../../shared/log/logger.js';
import type { WorkerAdapters } from './createWorkerDeps.js';
import { createWorkerHandler } from './worker.js';

function startWorker(settings: Partial<WorkerConfig>): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const neverReady = new Promise<WorkerAdapters>(() => {});
  createWorkerHandler({ GOOGLE_CLOUD_PROJECT: 'demo-project', ...settings } as WorkerConfig, createLogger('test', 'info', sink), neverReady);
  return lines;
}

const warnings = (lines: Record<string, unknown>[]) =>
  lines.filter((line) => line.severity === 'WARNING').map((line) => String(line.message));

describe('worker start-up: the push-token check', () => {
  it('warns loudly when PUSH_AUDIENCE is unset outside the emulator', () => {
    const found = warnings(startWorker({}));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/PUSH_AUDIENCE is not set/);
  });

  it('stays quiet with PUSH_AUDIENCE set, or against the Pub/Sub emulator', () => {
    expect(warnings(startWorker({ PUSH_AUDIENCE: 'https://worker.example' }))).toEqual([]);
    expect(warnings(startWorker({ PUBSUB_EMULATOR_HOST: 'localhost:8085' }))).toEqual([]);
  });
});
