import { createGcpLoggingPinoConfig } from '@google-cloud/pino-logging-gcp-config';
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * One JSON line per event in Cloud Logging's structured format. Secrets never reach here by
 * design; the redact list is a second line of defence for headers passed by mistake.
 */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    createGcpLoggingPinoConfig(
      { serviceContext: { service, version: process.env.K_REVISION ?? 'local' } },
      {
        level,
        base: undefined,
        redact: {
          paths: ['authorization', '*.authorization', 'headers.authorization', '*.headers.authorization', 'accessToken', 'token'],
          censor: '[redacted]',
        },
      },
    ),
  );
}

/**
 * `logging.googleapis.com/trace` from the request's trace header, so Cloud Logging groups a
 * request's lines; empty when there is no header or project.
 */
export function traceFields(
  headers: Record<string, string | string[] | undefined>,
  projectId: string | undefined,
): Record<string, string> {
  if (!projectId) return {};
  const cloudTrace = headers['x-cloud-trace-context'];
  const traceparent = headers['traceparent'];
  const traceId =
    (typeof cloudTrace === 'string' && cloudTrace.split('/')[0]) ||
    (typeof traceparent === 'string' && traceparent.split('-')[1]) ||
    undefined;
  return traceId ? { 'logging.googleapis.com/trace': `projects/${projectId}/traces/${traceId}` } : {};
}
