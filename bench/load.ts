import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import type { SignedBody } from './bodies.js';

export interface LoadResult {
  sent: number;
  ok: number;
  statuses: Record<string, number>;
  /** Per completed request, dispatch → full response body, ms. */
  latencies: number[];
  /** Dispatch time of each entry in latencies (performance.now), ms. */
  startedAt: number[];
  /** How late the generator dispatched against its schedule (fixed rate only), ms. */
  lags: number[];
  elapsedMs: number;
}

function newResult(): LoadResult {
  return { sent: 0, ok: 0, statuses: {}, latencies: [], startedAt: [], lags: [], elapsedMs: 0 };
}

/** POSTs one signed webhook body as Meta does and reads the whole response; returns its status. */
export async function postWebhook(dispatcher: Dispatcher, body: SignedBody): Promise<number> {
  const response = await dispatcher.request({
    path: '/webhook',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': body.signature },
    body: body.raw,
  });
  await response.body.dump();
  return response.statusCode;
}

async function post(pool: Pool, body: SignedBody, result: LoadResult): Promise<void> {
  const started = performance.now();
  result.sent += 1;
  try {
    const status = await postWebhook(pool, body);
    result.latencies.push(performance.now() - started);
    result.startedAt.push(started);
    result.statuses[status] = (result.statuses[status] ?? 0) + 1;
    if (status === 200) result.ok += 1;
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'error';
    result.statuses[code] = (result.statuses[code] ?? 0) + 1;
  }
}

export function openPool(url: string, connections = 64): Pool {
  return new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
}

/**
 * Open-loop load: request i is dispatched at start + i/rate whatever the earlier ones are doing
 * (no coordinated omission), so a slow server meets the same arrivals as a fast one.
 */
export async function fixedRate(pool: Pool, bodies: Iterator<SignedBody>, rate: number, durationMs: number): Promise<LoadResult> {
  const result = newResult();
  const total = Math.round((rate * durationMs) / 1000);
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  let next = 0;
  while (next < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - start) * rate) / 1000) + 1);
    while (next < due) {
      const body = bodies.next();
      if (body.done) throw new Error('ran out of request bodies');
      result.lags.push(now - (start + (next * 1000) / rate));
      const p = post(pool, body.value, result).finally(() => inFlight.delete(p));
      inFlight.add(p);
      next += 1;
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  result.elapsedMs = performance.now() - start;
  return result;
}

/** Closed-loop load with `concurrency` requests always in flight: the saturation throughput. */
export async function saturate(pool: Pool, bodies: Iterator<SignedBody>, concurrency: number, durationMs: number): Promise<LoadResult> {
  const result = newResult();
  const start = performance.now();
  const stopAt = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < stopAt) {
        const body = bodies.next();
        if (body.done) throw new Error('ran out of request bodies');
        await post(pool, body.value, result);
      }
    }),
  );
  result.elapsedMs = performance.now() - start;
  return result;
}
