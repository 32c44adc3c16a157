/**
 * What Meta has told us about one message the bridge sent. Status webhooks arrive at least once
 * and in any order (a `read` may come before, or instead of, its `delivered`), so a stored status
 * only ever moves forward: sent < delivered < read. `failed` keeps Meta's code and details.
 */
export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'failed';

export interface DeliveryError {
  code: number;
  details?: string;
}

export interface StatusReport {
  status: DeliveryStatus;
  /** Meta's timestamp of the status, Unix seconds. */
  timestamp: number;
  error?: DeliveryError;
}

const PROGRESS: Record<Exclude<DeliveryStatus, 'failed'>, number> = { sent: 1, delivered: 2, read: 3 };

/** Meta's status names mapped onto ours; `played` (a voice note's first play) implies `read`. */
export function toDeliveryStatus(metaStatus: string): DeliveryStatus | undefined {
  switch (metaStatus) {
    case 'sent':
    case 'delivered':
    case 'read':
    case 'failed':
      return metaStatus;
    case 'played':
      return 'read';
    default:
      return undefined;
  }
}

/**
 * The status to store after `report` arrives, or undefined when it changes nothing.
 * A `failed` report replaces only `sent` (a message the user has received cannot fail
 * afterwards, so a `failed` after `delivered`/`read` is stale); after `failed`, only another
 * `failed` with a newer timestamp replaces it.
 */
export function advanceStatus(current: StatusReport | undefined, report: StatusReport): StatusReport | undefined {
  if (!current) return report;
  if (current.status === 'failed') {
    return report.status === 'failed' && report.timestamp > current.timestamp ? report : undefined;
  }
  if (report.status === 'failed') return current.status === 'sent' ? report : undefined;
  return PROGRESS[report.status] > PROGRESS[current.status] ? report : undefined;
}

/** Groups Meta's error codes for alerting: what an operator does about a failure depends on the class. */
export type FailureClass = 'window' | 'undeliverable' | 'ecosystem' | 'template' | 'rate_limit' | 'auth_or_policy' | 'other';

export function failureClassOf(code: number | undefined): FailureClass {
  if (code === 131047) return 'window';
  if (code === 131026) return 'undeliverable';
  if (code === 131049 || code === 131050) return 'ecosystem';
  if (code !== undefined && code >= 132000 && code < 133000) return 'template';
  if (code === 4 || code === 80007 || code === 130429 || code === 131048 || code === 131056) return 'rate_limit';
  if (code === 0 || code === 10 || code === 190 || code === 368 || code === 131031) return 'auth_or_policy';
  return 'other';
}
