import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { WorkerConfig } from '../../shared/config/config.js';
import { createLogger } from '../../shared/log/logger.js';
import { warnIfPushUnchecked } from './composeWorker.js';

function warningsAtStart(settings: Partial<Pick<WorkerConfig, 'PUSH_AUDIENCE' | 'PUBSUB_EMULATOR_HOST'>>): string[] {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  warnIfPushUnchecked(settings, createLogger('test', 'info', sink));
  return lines.filter((line) => line.severity === 'WARNING').map((line) => String(line.message));
}

describe('worker start-up: the push-token check', () => {
  it('warns loudly when PUSH_AUDIENCE is unset outside the emulator', () => {
    const found = warningsAtStart({});
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/PUSH_AUDIENCE is not set/);
  });

  it('stays quiet with PUSH_AUDIENCE set, or against the Pub/Sub emulator', () => {
    expect(warningsAtStart({ PUSH_AUDIENCE: 'https://worker.example' })).toEqual([]);
    expect(warningsAtStart({ PUBSUB_EMULATOR_HOST: 'localhost:8085' })).toEqual([]);
  });
});
