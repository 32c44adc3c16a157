/**
 * Every failure on the worker's path is one of these two, so one place decides whether the
 * message is offered again (retryable) or settled (permanent). Each also says which outside
 * system failed, so the core can tell, for example, that an apology over WhatsApp is pointless
 * when WhatsApp is what failed.
 */

/** The outside system a failure happened in. */
export type FailedSystem = 'whatsapp' | 'agent' | 'storage';

export interface FailureDetails {
  /** Unset when no outside system failed (the message itself cannot be handled). */
  system?: FailedSystem;
  /** A hint from the remote side (e.g. Retry-After), in milliseconds. Retryable failures only. */
  retryAfterMs?: number;
  /** Extra structured fields for the log line (e.g. graphErrorCode). */
  fields?: Record<string, unknown>;
  cause?: unknown;
}

abstract class ClassifiedError extends Error {
  abstract readonly retryable: boolean;
  readonly system: FailedSystem | undefined;
  readonly fields: Record<string, unknown>;

  constructor(
    message: string,
    /** Short machine-readable cause, recorded on the message and logged (e.g. `graph_190`). */
    readonly reason: string,
    details: FailureDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.system = details.system;
    this.fields = details.fields ?? {};
  }
}

export class RetryableError extends ClassifiedError {
  override name = 'RetryableError';
  readonly retryable = true;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, reason: string, details: FailureDetails = {}) {
    super(message, reason, details);
    this.retryAfterMs = details.retryAfterMs;
  }
}

export class PermanentError extends ClassifiedError {
  override name = 'PermanentError';
  readonly retryable = false;
}

/** Unknown failures are retried: losing a message is worse than one more attempt. */
export function isPermanent(error: unknown): error is PermanentError {
  return error instanceof PermanentError;
}

export function reasonOf(error: unknown): string {
  if (error instanceof ClassifiedError) return error.reason;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The outside system a failure came from, when it says so. */
export function failedSystemOf(error: unknown): FailedSystem | undefined {
  return error instanceof ClassifiedError ? error.system : undefined;
}
