import * as grpc from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { newWamid, textWebhook, type WebhookSender } from '../../local/webhookBodies.js';
import { describeWithEmulators, postWebhook, startTestStack } from '../integration/testStack.js';
import { agentCallsFor, echoed, makeUsers, openLedger, percentile, sleep, textsTo } from './helpers.js';

const LEASE_SECONDS = 3;
const MAX_DELIVERY_ATTEMPTS = 10;

describeWithEmulators('reliability: worker killed, worker stopped, agent down', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({
      PROCESSING_LEASE_SECONDS: String(LEASE_SECONDS),
      MAX_DELIVERY_ATTEMPTS: String(MAX_DELIVERY_ATTEMPTS),
      USER_RATE_LIMIT_PER_MINUTE: '10000',
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(() => {
    stack.sandbox!.reset();
    stack.agent!.reset();
  });

  /** Posts each user's messages one after another, users in parallel; returns the texts and POST latencies. */
  async function postConversations(users: WebhookSender[], perUser: number, label: string) {
    const texts = new Map<string, string[]>();
    const latencies: number[] = [];
    const statuses: number[] = [];
    await Promise.all(
      users.map(async (user, u) => {
        const own: string[] = [];
        texts.set(user.phone, own);
        for (let i = 1; i <= perUser; i += 1) {
          const text = `${label} user ${u + 1} message ${i}`;
          own.push(text);
          const started = performance.now();
          const response = await postWebhook(stack, textWebhook(user, text));
          latencies.push(performance.now() - started);
          statuses.push(response.status);
        }
      }),
    );
    return { texts, latencies, statuses };
  }

  it('answers exactly once a message whose worker was SIGKILLed while the agent was working on it', async () => {
    const sandbox = stack.sandbox!;
    const agent = stack.agent!;
    const [user] = makeUsers('kill', 1);
    agent.latencyMs = 30_000;
    const wamid = newWamid();
    const started = Date.now();
    expect((await postWebhook(stack, textWebhook(user!, 'are you still there?', { wamid }))).status).toBe(200);
    await sandbox.waitFor(() => agentCallsFor(agent, user!.phone).length > 0, 20_000);

    const victim = stack.worker.child;
    const exited = new Promise((resolve) => victim.once('exit', (_code, signal) => resolve(signal)));
    process.kill(-victim.pid!, 'SIGKILL');
    const signal = await exited;
    const killedAt = Date.now() - started;
    agent.latencyMs = 0;

    const { ledger, close } = openLedger(stack);
    try {
      const orphan = await ledger.get(wamid);
      expect(orphan?.state).toBe('processing');
      const restartStarted = Date.now();
      await stack.restart('worker');
      const restartMs = Date.now() - restartStarted;
      await sandbox.waitFor(() => textsTo(sandbox, user!.phone).length > 0, 30_000);
      const answeredAfter = Date.now() - started;
      await sleep(2000);

      const replies = textsTo(sandbox, user!.phone);
      const record = await ledger.get(wamid);
      const calls = agentCallsFor(agent, user!.phone);
      console.log(
        `kill: worker ${String(signal)} at ${killedAt} ms mid agent call (record ${orphan?.state}, lease ${LEASE_SECONDS} s), ` +
          `restarted in ${restartMs} ms → answered at ${answeredAfter} ms; ${calls.length} agent calls (1 killed), ` +
          `${replies.length} reply, record ${record?.state} after ${record?.attempts} deliveries seen by the worker`,
      );
      expect(signal).toBe('SIGKILL');
      expect(replies).toEqual(['Echo #1: are you still there?']);
      expect(record?.state).toBe('answered');
      expect(calls.map((call) => call.text)).toEqual(['are you still there?', 'are you still there?']);
    } finally {
      await close();
    }
  });

  it('keeps answering webhooks fast with the worker stopped, and answers every queued message once it returns', async () => {
    const sandbox = stack.sandbox!;
    const users = makeUsers('stopped', 3);
    await stack.worker.stop();
    const { texts, latencies, statuses } = await postConversations(users, 5, 'while stopped');
    await sleep(2000);
    const repliesWhileDown = sandbox.sent().length;

    const restarted = Date.now();
    await stack.restart('worker');
    await sandbox.waitFor(() => sandbox.sent().length >= 15, 45_000);
    const drainedMs = Date.now() - restarted;
    await sleep(1500);

    const p50 = percentile(latencies, 50);
    const max = Math.max(...latencies);
    console.log(
      `worker stopped: 15 webhooks → ${statuses.filter((s) => s === 200).length}×200, latency p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms; ` +
        `${repliesWhileDown} replies while down; worker back → ${sandbox.sent().length} replies in ${drainedMs} ms`,
    );
    expect(statuses).toEqual(Array(15).fill(200));
    expect(p50).toBeLessThan(250);
    expect(max).toBeLessThan(2000);
    expect(repliesWhileDown).toBe(0);
    expect(sandbox.sent()).toHaveLength(15);
    for (const user of users) expect(textsTo(sandbox, user.phone).map(echoed)).toEqual(texts.get(user.phone));
  });

  it('keeps answering webhooks fast with the agent down, and answers every message once it recovers', async () => {
    const sandbox = stack.sandbox!;
    const agent = stack.agent!;
    const users = makeUsers('agentdown', 3);
    let agentDown = true;
    agent.failWhen(() => agentDown, grpc.status.UNAVAILABLE);

    const linesBefore = stack.worker.lines.length;
    const { texts, latencies, statuses } = await postConversations(users, 5, 'agent down');
    // The worker keeps trying and failing: count its failed attempts in its log.
    const failedAttempts = () =>
      stack.worker.lines.slice(linesBefore).filter((line) => line.includes('"reason":"agent_unavailable"')).length;
    await sandbox.waitFor(() => failedAttempts() >= 2 * users.length, 20_000);
    const failedWhileDown = failedAttempts();
    const repliesWhileDown = sandbox.sent().length;

    agentDown = false;
    const healed = Date.now();
    await sandbox.waitFor(() => sandbox.sent().length >= 15, 45_000);
    const drainedMs = Date.now() - healed;
    await sleep(1500);

    const p50 = percentile(latencies, 50);
    const max = Math.max(...latencies);
    const successful = agent.calls.filter((call) => call.failedWith === undefined);
    console.log(
      `agent down: 15 webhooks → ${statuses.filter((s) => s === 200).length}×200, latency p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms; ` +
        `${failedWhileDown} failed attempts and ${repliesWhileDown} replies while down; agent back → ${sandbox.sent().length} replies in ${drainedMs} ms, ` +
        `${successful.length} successful agent calls`,
    );
    expect(statuses).toEqual(Array(15).fill(200));
    expect(p50).toBeLessThan(250);
    expect(max).toBeLessThan(2000);
    expect(failedWhileDown).toBeGreaterThanOrEqual(2 * users.length);
    expect(repliesWhileDown).toBe(0);
    expect(sandbox.sent()).toHaveLength(15);
    expect(successful).toHaveLength(15);
    for (const user of users) expect(textsTo(sandbox, user.phone).map(echoed)).toEqual(texts.get(user.phone));
  });
});
