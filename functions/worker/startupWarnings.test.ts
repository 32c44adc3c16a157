import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../shared/log/logger.js';
import { warnIfLeaseTooShort, warnIfPushUnchecked } from './composeWorker.js';

function warningsAtStart(warn: (log: Logger) => void): string[] {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  warn(createLogger('test', 'info', sink));
  return lines.filter((line) => line.severity === 'WARNING').map((line) => String(line.message));
}

describe('worker start-up: the push-token check', () => {
  it('warns loudly when PUSH_AUDIENCE is unset outside the emulator', () => {
    const found = warningsAtStart((log) => warnIfPushUnchecked({}, log));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/PUSH_AUDIENCE is not set/);
  });

  it('stays quiet with PUSH_AUDIENCE set, or against the Pub/Sub emulator', () => {
    expect(warningsAtStart((log) => warnIfPushUnchecked({ PUSH_AUDIENCE: 'https://worker.example' }, log))).toEqual([]);
    expect(warningsAtStart((log) => warnIfPushUnchecked({ PUBSUB_EMULATOR_HOST: 'localhost:8085' }, log))).toEqual([]);
  });
});

describe('worker start-up: the lease against the worker\'s timeout', () => {
  it('warns when a delivery\'s lease could end while the worker still answers it', () => {
    for (const lease of [300, 120]) {
      const found = warningsAtStart((log) => warnIfLeaseTooShort({ PROCESSING_LEASE_SECONDS: lease, WORKER_TIMEOUT_SECONDS: 300 }, log));
      expect(found).toEqual([expect.stringMatching(new RegExp(`PROCESSING_LEASE_SECONDS \\(${lease}\\) is not above WORKER_TIMEOUT_SECONDS \\(300\\)`))]);
    }
  });

  it('stays quiet with the defaults (330 s above 300 s)', () => {
    expect(warningsAtStart((log) => warnIfLeaseTooShort({ PROCESSING_LEASE_SECONDS: 330, WORKER_TIMEOUT_SECONDS: 300 }, log))).toEqual([]);
  });
});
