import { PermanentError, RetryableError } from '../errors.js';

/** Graph error codes worth another attempt (https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes). */
const RETRYABLE_CODES = new Set([1, 2, 4, 80007, 130429, 131000, 131016, 131056, 131057]);
/** Codes that no retry can fix: auth, bad parameters, policy, the 24-hour window. */
const PERMANENT_CODES = new Set([0, 10, 100, 131008, 131009, 131026, 131031, 131047, 131048, 131049, 131050, 131051, 131052, 131053, 131062, 190, 368]);

/** Meta's code for a free-form message outside the 24-hour window ("Re-engagement message"). */
export const OUTSIDE_WINDOW_CODE = 131047;

/** The reason recorded when a reply can no longer be sent because the user last wrote over 24 h ago. */
export const OUTSIDE_CUSTOMER_SERVICE_WINDOW = 'outside_customer_service_window';

/** One message per 6 s per user: wait at least that long before trying this user again. */
const PAIR_RATE_LIMIT_MS = 6_000;

export interface GraphErrorBody {
  error?: { code?: number; message?: string; error_data?: { details?: string } };
}

/** Classifies a failed Graph call by Meta's `error.code`, falling back to the HTTP status. */
export function graphError(status: number, body: GraphErrorBody | undefined, retryAfterHeader?: string): Error {
  const code = body?.error?.code;
  const detail = body?.error?.error_data?.details ?? body?.error?.message ?? `HTTP ${status}`;
  const message = `Graph API ${status}${code === undefined ? '' : ` code ${code}`}: ${detail}`;
  const fields = { graphErrorCode: code, graphStatus: status };
  const system = 'whatsapp';
  const reason =
    code === OUTSIDE_WINDOW_CODE ? OUTSIDE_CUSTOMER_SERVICE_WINDOW : code === undefined ? `graph_http_${status}` : `graph_${code}`;

  const retryable =
    code !== undefined && PERMANENT_CODES.has(code)
      ? false
      : (code !== undefined && RETRYABLE_CODES.has(code)) || status >= 500 || status === 429 || status === 408;
  if (!retryable) return new PermanentError(message, reason, { system, fields });

  const retryAfterSeconds = Number(retryAfterHeader);
  const retryAfterMs = Number.isFinite(retryAfterSeconds) && retryAfterSeconds > 0
    ? retryAfterSeconds * 1000
    : code === 131056
      ? PAIR_RATE_LIMIT_MS
      : undefined;
  return new RetryableError(message, reason, { system, retryAfterMs, fields });
}
