import { describe, expect, it } from 'vitest';
import { formatTraceparent, newTrace, parseTraceparent, traceFromHeaders, traceLogFields } from './traceContext.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('traceFromHeaders', () => {
  it('reads X-Cloud-Trace-Context, turning its decimal span id into 16 hex digits', () => {
    expect(traceFromHeaders({ 'x-cloud-trace-context': `${TRACE}/1;o=1` })).toEqual({
      traceId: TRACE,
      spanId: '0000000000000001',
      sampled: true,
    });
    expect(traceFromHeaders({ 'x-cloud-trace-context': `${TRACE.toUpperCase()}/18446744073709551615;o=0` })).toEqual({
      traceId: TRACE,
      spanId: 'ffffffffffffffff',
      sampled: false,
    });
  });

  it('gives an X-Cloud-Trace-Context without a usable span id a new span in the same trace', () => {
    for (const header of [TRACE, `${TRACE};o=1`, `${TRACE}/0`, `${TRACE}/18446744073709551616`]) {
      const trace = traceFromHeaders({ 'x-cloud-trace-context': header });
      expect(trace?.traceId, header).toBe(TRACE);
      expect(trace?.spanId, header).toMatch(/^[0-9a-f]{16}$/);
      expect(trace?.spanId, header).not.toBe('0000000000000000');
    }
  });

  it('reads a W3C traceparent', () => {
    expect(traceFromHeaders({ traceparent: `00-${TRACE}-00f067aa0ba902b7-01` })).toEqual({
      traceId: TRACE,
      spanId: '00f067aa0ba902b7',
      sampled: true,
    });
    expect(traceFromHeaders({ traceparent: `00-${TRACE}-00f067aa0ba902b7-00` })?.sampled).toBe(false);
    // A later version may append fields; its first four are read as version 00's.
    expect(traceFromHeaders({ traceparent: `01-${TRACE}-00f067aa0ba902b7-03-what-ever` })?.sampled).toBe(true);
  });

  it('prefers X-Cloud-Trace-Context, the trace Cloud Run files its request log under', () => {
    const trace = traceFromHeaders({
      'x-cloud-trace-context': `${TRACE}/2;o=1`,
      traceparent: '00-11111111111111111111111111111111-00f067aa0ba902b7-01',
    });
    expect(trace?.traceId).toBe(TRACE);
  });

  it('falls back to traceparent when X-Cloud-Trace-Context is malformed', () => {
    const trace = traceFromHeaders({ 'x-cloud-trace-context': 'not-a-trace', traceparent: `00-${TRACE}-00f067aa0ba902b7-00` });
    expect(trace?.traceId).toBe(TRACE);
  });

  it('takes the first of repeated headers', () => {
    expect(traceFromHeaders({ traceparent: [`00-${TRACE}-00f067aa0ba902b7-01`, 'garbage'] })?.traceId).toBe(TRACE);
  });

  it('finds nothing without a header or with invalid ones', () => {
    expect(traceFromHeaders({})).toBeUndefined();
    for (const traceparent of [
      '',
      'garbage',
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `ff-${TRACE}-00f067aa0ba902b7-01`,
      `00-${TRACE}-00f067aa0ba902b7-01-extra`,
      `00-${TRACE.toUpperCase()}-00f067aa0ba902b7-01`,
      `00-${TRACE.slice(1)}-00f067aa0ba902b7-01`,
    ]) {
      expect(traceFromHeaders({ traceparent }), traceparent).toBeUndefined();
    }
    for (const cloud of ['', 'abc123/1;o=1', `${'0'.repeat(32)}/1`, `${TRACE}/-1`, `${TRACE}/1;o=2`]) {
      expect(traceFromHeaders({ 'x-cloud-trace-context': cloud }), cloud).toBeUndefined();
    }
  });
});

describe('newTrace', () => {
  it('makes a fresh, valid, unsampled trace each time', () => {
    const a = newTrace();
    const b = newTrace();
    expect(a.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(a.sampled).toBe(false);
    expect(b.traceId).not.toBe(a.traceId);
    expect(parseTraceparent(formatTraceparent(a))).toEqual(a);
  });
});

describe('formatTraceparent', () => {
  it('writes what parseTraceparent reads', () => {
    const trace = { traceId: TRACE, spanId: '00f067aa0ba902b7', sampled: true };
    expect(formatTraceparent(trace)).toBe(`00-${TRACE}-00f067aa0ba902b7-01`);
    expect(parseTraceparent(formatTraceparent(trace))).toEqual(trace);
    expect(parseTraceparent(formatTraceparent({ ...trace, sampled: false }))).toEqual({ ...trace, sampled: false });
  });
});

describe('traceLogFields', () => {
  it('names the trace by project, with the span and the sampling decision when there are ones', () => {
    expect(traceLogFields('p', { traceId: TRACE, spanId: '00f067aa0ba902b7', sampled: true })).toEqual({
      'logging.googleapis.com/trace': `projects/p/traces/${TRACE}`,
      'logging.googleapis.com/spanId': '00f067aa0ba902b7',
      'logging.googleapis.com/trace_sampled': true,
    });
    expect(traceLogFields('p', { traceId: TRACE })).toEqual({ 'logging.googleapis.com/trace': `projects/p/traces/${TRACE}` });
  });
});
