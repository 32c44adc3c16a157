import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { newWamid, textWebhook } from '../../local/webhookBodies.js';
import { makeUsers, sleep, waitForLine } from '../reliability/helpers.js';
import { describeWithEmulators, postWebhook, startTestStack } from './testStack.js';

/*
 * One trace per message, from Meta's callback to the reply: every JSON line both functions write
 * on a message's path carries the trace the callback came with (or the one the webhook made up),
 * through retries, the apology and dead-lettering. Each message runs alone on the stack, so the
 * lines written meanwhile are its path.
 */

const APOLOGY_TEXT = 'Perdón, no pudimos responder.';
const MAX_DELIVERY_ATTEMPTS = 5;
const AGENT_LATENCY_MS = 300;
/** What Node itself writes to stderr for a process warning, and its follow-up hint. */
const NODE_WARNING = /^\(node:\d+\) \w*Warning: |^\(Use `node --trace-warnings/;
const TRACE_FIELD = 'logging.googleapis.com/trace';
const SPAN_FIELD = 'logging.googleapis.com/spanId';

type Entry = Record<string, unknown> & { message: string; serviceContext: { service: string } };

const newTraceId = () => randomBytes(16).toString('hex');

/** Sends one message and returns every line both functions wrote until `lastLine` (parsed: each must be JSON). */
async function path(stack: LocalStack, text: string, headers: Record<string, string>, lastLine: RegExp, setup?: () => void) {
  const [user] = makeUsers('trace', 1);
  const fromWebhook = stack.webhook.lines.length;
  const fromWorker = stack.worker.lines.length;
  setup?.();
  const wamid = newWamid();
  const postedAt = Date.now();
  expect((await postWebhook(stack, textWebhook(user!, text, { wamid }), { headers })).status).toBe(200);
  await waitForLine(stack.worker.lines, (line) => lastLine.test(line), 90_000, fromWorker);
  const settledAt = Date.now();
  // Let a late line (a read receipt's failure, a duplicate push) land inside this window.
  await sleep(300);
  const raw = [...stack.webhook.lines.slice(fromWebhook), ...stack.worker.lines.slice(fromWorker)].filter(
    (line) => line !== '' && !NODE_WARNING.test(line),
  );
  const entries = raw.map((line) => {
    expect(() => JSON.parse(line), `a JSON line: ${line}`).not.toThrow();
    return JSON.parse(line) as Entry;
  });
  return { wamid, entries, elapsedMs: settledAt - postedAt };
}

function expectOneTrace(stack: LocalStack, entries: Entry[], traceId: string) {
  const traceName = (id: string) => `projects/${stack.projectId}/traces/${id}`;
  const services = new Set(entries.map((entry) => entry.serviceContext.service));
  expect([...services].sort()).toEqual(['webhook', 'worker']);
  const off = entries.filter((entry) => entry[TRACE_FIELD] !== traceName(traceId));
  expect(off.map((entry) => `${entry.serviceContext.service}: ${entry.message} ${String(entry[TRACE_FIELD])}`)).toEqual([]);
}

const messages = (entries: Entry[], service: string) =>
  entries.filter((entry) => entry.serviceContext.service === service).map((entry) => entry.message);

describeWithEmulators('one trace per message, webhook to reply', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ APOLOGY_TEXT, MAX_DELIVERY_ATTEMPTS: String(MAX_DELIVERY_ATTEMPTS) });
    stack.agent!.latencyMs = AGENT_LATENCY_MS;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('W3C traceparent, a Graph 5xx on the reply and a retried attempt', async () => {
    const traceId = newTraceId();
    const { entries, elapsedMs } = await path(
      stack,
      'hola',
      { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      /"message":"reply sent"/,
      () => stack.sandbox!.failNext({ status: 500, code: 1, only: 'send' }),
    );
    expectOneTrace(stack, entries, traceId);
    const webhookLines = entries.filter((entry) => entry.serviceContext.service === 'webhook');
    for (const entry of webhookLines) expect(entry[SPAN_FIELD]).toBe('00f067aa0ba902b7');
    const worker = messages(entries, 'worker');
    expect(messages(entries, 'webhook')).toContain('inbound message queued');
    expect(worker).toContain('attempt failed: Pub/Sub will retry');
    expect(worker).toContain('agent answered');
    expect(worker).toContain('first reply chunk accepted');
    expect(worker).toContain('reply sent');

    // The latency line: from the webhook's receipt to the first chunk Meta accepted, the agent's share, the outcome.
    const latency = entries.filter((entry) => entry.message === 'first reply chunk accepted');
    expect(latency).toHaveLength(1);
    const { replyLatencyMs, agentMs, outcome } = latency[0]! as Entry & { replyLatencyMs: number; agentMs: number; outcome: string };
    expect(outcome).toBe('answered');
    // The fake agent's timer may fire 1 ms early by Date.now() (libuv's cached whole-ms loop clock).
    expect(agentMs).toBeGreaterThanOrEqual(AGENT_LATENCY_MS - 1);
    // The first attempt's Graph failure and Pub/Sub's backoff are part of what the user waited for.
    expect(replyLatencyMs).toBeGreaterThan(agentMs);
    expect(replyLatencyMs).toBeLessThanOrEqual(elapsedMs);
    console.log(
      `trace across a retry: ${entries.length} lines (${messages(entries, 'webhook').length} webhook, ${worker.length} worker) under trace ${traceId}; ` +
        `first reply chunk after ${replyLatencyMs} ms, agent ${agentMs} ms, message settled after ${elapsedMs} ms`,
    );
  });

  it('X-Cloud-Trace-Context, the agent down on every attempt: apology and dead letter under the same trace', async () => {
    const traceId = newTraceId();
    const { entries } = await path(
      stack,
      'hola',
      { 'x-cloud-trace-context': `${traceId}/12345;o=1` },
      /moved to the dead-letter topic/,
      () => stack.agent!.failNext(MAX_DELIVERY_ATTEMPTS, grpc.status.UNAVAILABLE),
    );
    expectOneTrace(stack, entries, traceId);
    for (const entry of entries.filter((e) => e.serviceContext.service === 'webhook')) {
      expect(entry[SPAN_FIELD]).toBe((12345).toString(16).padStart(16, '0'));
    }
    const worker = messages(entries, 'worker');
    expect(worker.filter((message) => message === 'attempt failed: Pub/Sub will retry')).toHaveLength(MAX_DELIVERY_ATTEMPTS - 1);
    expect(worker).toContain('final attempt failed: message goes to the dead-letter topic');
    expect(worker).toContain('moved to the dead-letter topic');
    const apology = entries.filter((entry) => entry.message === 'first reply chunk accepted');
    expect(apology.map((entry) => entry.outcome)).toEqual(['apology']);
  });

  it('no trace header: the webhook starts a trace and the worker keeps it', async () => {
    const { entries } = await path(stack, 'hola otra vez', {}, /"message":"reply sent"/);
    const queued = entries.find((entry) => entry.message === 'inbound message queued');
    const traceId = /traces\/([0-9a-f]{32})$/.exec(String(queued?.[TRACE_FIELD]))?.[1];
    expect(traceId).toBeDefined();
    expectOneTrace(stack, entries, traceId!);
  });
});

const BURST_WINDOW_MS = 600;

describeWithEmulators('one trace per message, webhook to reply, with bursts on', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ APOLOGY_TEXT, BURST_WINDOW_MS: String(BURST_WINDOW_MS) });
    stack.agent!.latencyMs = AGENT_LATENCY_MS;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('the buffered message and its turn (turn-due push, a Graph 5xx and the retry) log under the callback’s trace', async () => {
    const traceId = newTraceId();
    const { entries, elapsedMs } = await path(
      stack,
      'hola en ráfaga',
      { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      /"message":"reply sent"/,
      () => stack.sandbox!.failNext({ status: 500, code: 1, only: 'send' }),
    );
    expectOneTrace(stack, entries, traceId);
    const worker = messages(entries, 'worker');
    expect(worker).toContain('message buffered: its turn runs when the burst is over');
    expect(worker).toContain('burst over: one turn for its messages');
    expect(worker).toContain('attempt failed: Pub/Sub will retry');
    const latency = entries.filter((entry) => entry.message === 'first reply chunk accepted');
    expect(latency).toHaveLength(1);
    const { replyLatencyMs, agentMs } = latency[0]! as Entry & { replyLatencyMs: number; agentMs: number };
    // The user waited through the burst window too: the latency runs from the webhook's receipt.
    expect(replyLatencyMs).toBeGreaterThanOrEqual(BURST_WINDOW_MS + agentMs);
    expect(replyLatencyMs).toBeLessThanOrEqual(elapsedMs);
  });
});
