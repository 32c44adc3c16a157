import { randomBytes } from 'node:crypto';

/** The trace a request belongs to, as Cloud Trace and W3C Trace Context name it (lowercase hex). */
export interface TraceContext {
  /** 32 hex digits. */
  traceId: string;
  /** 16 hex digits: the span of the request that carried the header (a new one when it named none). */
  spanId: string;
  sampled: boolean;
}

type Headers = Record<string, string | string[] | undefined>;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const CLOUD_TRACE_CONTEXT = /^([0-9a-fA-F]{32})(?:\/(\d{1,20}))?(?:;o=([01]))?$/;
const ALL_ZEROS = /^0+$/;
const MAX_SPAN_ID = 2n ** 64n - 1n;

/**
 * The trace of an incoming request: `X-Cloud-Trace-Context` (what Google's front end sets, and
 * what Cloud Run's request log is filed under) or else the W3C `traceparent`. Undefined when
 * neither header holds a valid trace.
 */
export function traceFromHeaders(headers: Headers): TraceContext | undefined {
  return parseCloudTraceContext(first(headers['x-cloud-trace-context'])) ?? parseTraceparent(first(headers['traceparent']));
}

/** A new trace for a request that came without one, so its lines can still be followed together. */
export function newTrace(): TraceContext {
  return { traceId: randomHex(16), spanId: randomHex(8), sampled: false };
}

/**
 * Random bytes are drawn from the CSPRNG in blocks (as `crypto.randomUUID` does): one call per
 * 170 traces instead of two per trace, which showed up in the webhook's CPU profile.
 */
const RANDOM_BLOCK_BYTES = 4096;
let randomBlock = Buffer.alloc(0);
let randomOffset = 0;

function randomHex(bytes: number): string {
  if (randomOffset + bytes > randomBlock.length) {
    randomBlock = randomBytes(RANDOM_BLOCK_BYTES);
    randomOffset = 0;
  }
  randomOffset += bytes;
  return randomBlock.toString('hex', randomOffset - bytes, randomOffset);
}

/** `traceparent: 00-<trace>-<span>-<flags>` (W3C Trace Context, version 00). */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  const match = TRACEPARENT.exec(value?.trim() ?? '');
  if (!match) return undefined;
  const [, version, traceId = '', spanId = '', flags = '00', rest] = match;
  // Version ff is forbidden; version 00 has exactly four fields; later versions may append more.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (ALL_ZEROS.test(traceId) || ALL_ZEROS.test(spanId)) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.sampled ? '01' : '00'}`;
}

/** `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1`, where SPAN_ID is a decimal uint64. */
function parseCloudTraceContext(value: string | undefined): TraceContext | undefined {
  const match = CLOUD_TRACE_CONTEXT.exec(value?.trim() ?? '');
  if (!match) return undefined;
  const [, traceId = '', decimalSpan, option] = match;
  if (ALL_ZEROS.test(traceId)) return undefined;
  const span = decimalSpan === undefined ? 0n : BigInt(decimalSpan);
  const spanId = span > 0n && span <= MAX_SPAN_ID ? span.toString(16).padStart(16, '0') : randomHex(8);
  return { traceId: traceId.toLowerCase(), spanId, sampled: option === '1' };
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The fields Cloud Logging reads to file a structured line under a trace (and a span of it).
 * A line without `spanId` is still grouped under the trace.
 */
export function traceLogFields(
  projectId: string,
  trace: { traceId: string; spanId?: string; sampled?: boolean },
): Record<string, string | boolean> {
  return {
    'logging.googleapis.com/trace': `projects/${projectId}/traces/${trace.traceId}`,
    ...(trace.spanId ? { 'logging.googleapis.com/spanId': trace.spanId } : {}),
    ...(trace.sampled ? { 'logging.googleapis.com/trace_sampled': true } : {}),
  };
}
