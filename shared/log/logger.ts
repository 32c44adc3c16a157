import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/**
 * One JSON line per event in Cloud Logging's structured format: `severity`, `message`, an RFC 3339
 * `time`, and `stack_trace` on errors so Error Reporting picks them up. This is the part of
 * @google-cloud/pino-logging-gcp-config the functions need; that package loads all of
 * @google-cloud/logging and probes the metadata server at start, which the webhook's cold start
 * cannot afford. Secrets never reach the logger by design; `redact` is a second line of defence.
 */
export function createLogger(
  service: string,
  level = process.env.LOG_LEVEL ?? 'info',
  destination?: DestinationStream,
): Logger {
  const options = {
    level,
    base: { serviceContext: { service, version: process.env.K_REVISION ?? 'local' } },
    messageKey: 'message',
    timestamp: stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }),
      log: (object) => {
        const err = object.err as { stack?: string } | undefined;
        return err?.stack ? { ...object, stack_trace: err.stack } : object;
      },
    },
    redact: {
      paths: ['authorization', '*.authorization', 'headers.authorization', '*.headers.authorization', 'accessToken', 'token'],
      censor: '[redacted]',
    },
  } satisfies pino.LoggerOptions;
  return destination ? pino(options, destination) : pino(options);
}

