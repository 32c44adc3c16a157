import type { Domain } from 'node:domain';

/**
 * Starts `work` with the request's `domain` exited, and re-enters it before returning.
 *
 * Why: functions-framework runs each request in a `domain` (to answer a crash of that request),
 * and Node then tags every async resource created inside it, and enters and leaves the domain
 * around each of their callbacks. The publish to Pub/Sub creates most of a webhook request's
 * promises, timers and socket callbacks (the worker's Firestore, agent and Graph calls most of a
 * push's), and keep-alive sockets and gRPC channels outlive the request that opened them (they
 * would carry that first request's domain for their whole life). Errors still
 * reach the handler: every failure of `work` rejects the promise it returns.
 */
export function outsideRequestDomain<T>(work: () => T): T {
  // Node keeps the active domain here (untyped in @types/node).
  const domain = (process as { domain?: Domain | null }).domain;
  if (!domain) return work();
  domain.exit();
  try {
    return work();
  } finally {
    domain.enter();
  }
}
