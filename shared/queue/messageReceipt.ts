import { formatTraceparent, parseTraceparent, type TraceContext } from '../log/traceContext.js';

/**
 * What the webhook knows about a message's arrival that the worker needs: the trace of Meta's
 * callback (so both functions' lines share it) and when the callback arrived (so the worker can
 * measure the time to the reply). Travels as Pub/Sub message attributes.
 */
export interface MessageReceipt {
  trace: TraceContext;
  receivedAt: Date;
}

export function receiptAttributes(receipt: MessageReceipt): Record<string, string> {
  return { traceparent: formatTraceparent(receipt.trace), receivedAt: receipt.receivedAt.toISOString() };
}

/**
 * Reads what `receiptAttributes` wrote. Either part may be missing: a message published by an
 * older webhook, by hand, or with mangled attributes still gets processed.
 */
export function receiptFrom(attributes: Record<string, string>): Partial<MessageReceipt> {
  const trace = parseTraceparent(attributes.traceparent);
  const receivedAt = attributes.receivedAt ? new Date(attributes.receivedAt) : undefined;
  return {
    trace,
    ...(receivedAt && !Number.isNaN(receivedAt.getTime()) ? { receivedAt } : {}),
  };
}
