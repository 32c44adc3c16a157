/**
 * Every failure on the worker's path is one of these two, so one place decides
 * whether Pub/Sub should retry (non-2xx) or the message is settled (2xx).
 */
export class RetryableError extends Error {
  override name = 'RetryableError';
  constructor(
    message: string,
    readonly reason: string,
    /** A hint from the remote side (e.g. Retry-After), in milliseconds. */
    readonly retryAfterMs?: number,
    /** Extra structured fields for the log line (e.g. graphErrorCode). */
    readonly fields: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class PermanentError extends Error {
  override name = 'PermanentError';
  constructor(
    message: string,
    readonly reason: string,
    readonly fields: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Unknown failures are retried: losing a message is worse than one more attempt. */
export function isPermanent(error: unknown): error is PermanentError {
  return error instanceof PermanentError;
}

export function reasonOf(error: unknown): string {
  if (error instanceof RetryableError || error instanceof PermanentError) return error.reason;
  if (error instanceof Error) return error.message;
  return String(error);
}
