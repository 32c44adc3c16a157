import { randomInt } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { messageAttributes } from '../../shared/queue/inboundPublisher.js';
import { parseWebhookBody } from '../../shared/whatsapp/parseWebhookBody.js';
import { Firestore } from '@google-cloud/firestore';
import { DEFAULT_PHONE_NUMBER_ID, echoWebhook, newWamid, textWebhook } from '../../local/webhookBodies.js';
import { createFirestoreHandoffStore } from '../../shared/store/firestoreHandoffStore.js';
import { describeWithEmulators, postWebhook, startTestStack } from '../integration/testStack.js';
import { agentCallsFor, echoed, makeUsers, openLedger, sendAttemptsTo, sleep, tally, textsTo, until } from './helpers.js';

/** How long to keep watching for a reply that must not come (Pub/Sub's first retry is ~1 s). */
const SETTLE_MS = 1500;

describeWithEmulators('reliability: duplicates, per-user order, Graph failures', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    // 20 messages per user in a few seconds: keep the per-user rate limit out of the way.
    stack = await startTestStack({ USER_RATE_LIMIT_PER_MINUTE: '10000' });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(() => {
    stack.sandbox!.reset();
    stack.agent!.reset();
  });

  it('answers a webhook delivered 3 times (sequentially, concurrently) and a batch repeating a wamid once per wamid', async () => {
    const sandbox = stack.sandbox!;
    const agent = stack.agent!;
    const [seq, conc, batch] = makeUsers('dup', 3);

    // Sequential: Meta re-delivers the same bytes twice right away, and once more after the answer.
    const seqBody = textWebhook(seq!, 'sequential hello');
    expect((await postWebhook(stack, seqBody)).status).toBe(200);
    expect((await postWebhook(stack, seqBody)).status).toBe(200);
    // The file's first message also waits for the worker's cold start: a wait, not a speed check.
    await sandbox.waitFor(() => textsTo(sandbox, seq!.phone).length > 0, 30_000);
    expect((await postWebhook(stack, seqBody)).status).toBe(200);

    // Concurrent: three deliveries of one webhook in flight at once.
    const concBody = textWebhook(conc!, 'concurrent hello');
    const statuses = await Promise.all([1, 2, 3].map(() => postWebhook(stack, concBody)));
    expect(statuses.map((r) => r.status)).toEqual([200, 200, 200]);

    // One POST whose batch repeats a wamid: [a, b, a].
    const a = newWamid();
    const b = newWamid();
    const batchBody = textWebhook(batch!, 'batch first', { wamid: a }) as {
      entry: { changes: { value: { messages: Record<string, unknown>[] } }[] }[];
    };
    const messages = batchBody.entry[0]!.changes[0]!.value.messages;
    const first = messages[0]!;
    messages.push({ ...first, id: b, text: { body: 'batch second' } }, { ...first });
    expect((await postWebhook(stack, batchBody)).status).toBe(200);

    await sandbox.waitFor(
      () =>
        textsTo(sandbox, conc!.phone).length > 0 && textsTo(sandbox, batch!.phone).length >= 2,
      20_000,
    );
    await sleep(SETTLE_MS);

    const seqCalls = agentCallsFor(agent, seq!.phone).length;
    const concCalls = agentCallsFor(agent, conc!.phone).length;
    const batchCalls = tally(agentCallsFor(agent, batch!.phone).map((call) => call.text));
    const batchReplies = tally(textsTo(sandbox, batch!.phone).map((text) => echoed(text)));
    console.log(`duplicates (sequential): 3 deliveries → ${seqCalls} agent call, ${textsTo(sandbox, seq!.phone).length} reply`);
    console.log(`duplicates (concurrent): 3 deliveries → ${concCalls} agent call, ${textsTo(sandbox, conc!.phone).length} reply`);
    console.log(
      `duplicates (batch [a, b, a]): 2 wamids → agent calls a=${batchCalls.get('batch first') ?? 0} b=${batchCalls.get('batch second') ?? 0}, ` +
        `replies a=${batchReplies.get('batch first') ?? 0} b=${batchReplies.get('batch second') ?? 0}`,
    );

    expect(seqCalls).toBe(1);
    expect(textsTo(sandbox, seq!.phone)).toEqual(['Echo #1: sequential hello']);
    expect(concCalls).toBe(1);
    expect(textsTo(sandbox, conc!.phone)).toEqual(['Echo #1: concurrent hello']);
    expect([...batchCalls.entries()].sort()).toEqual([['batch first', 1], ['batch second', 1]]);
    expect([...batchReplies.entries()].sort()).toEqual([['batch first', 1], ['batch second', 1]]);
  });

  it('refuses a second push of a message whose first delivery is still running, and acknowledges it once answered', async () => {
    // What Pub/Sub does when a slow attempt outlives the ack deadline: the same message again, in parallel.
    const sandbox = stack.sandbox!;
    const agent = stack.agent!;
    const [user] = makeUsers('lease', 1);
    agent.latencyMs = 1500;
    const body = textWebhook(user!, 'slow question');
    const [message] = parseWebhookBody(body).messages;
    const envelope = {
      message: {
        data: Buffer.from(JSON.stringify(message)).toString('base64'),
        attributes: messageAttributes(message!),
        messageId: `manual-${randomInt(1e9)}`,
        publishTime: new Date().toISOString(),
      },
      subscription: `projects/${stack.projectId}/subscriptions/${stack.layout.pushSubscription}`,
    };
    const push = async () => {
      const response = await request(`${stack.workerUrl}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(envelope),
      });
      await response.body.dump();
      return response.statusCode;
    };

    expect((await postWebhook(stack, body)).status).toBe(200);
    await sandbox.waitFor(() => agentCallsFor(agent, user!.phone).length > 0);
    const whileRunning = await push();
    await sandbox.waitFor(() => textsTo(sandbox, user!.phone).length > 0);
    // The record settles just after Graph accepts the reply; until then the lease still holds.
    const { ledger, close } = openLedger(stack);
    try {
      await until(async () => (await ledger.get(message!.wamid))?.state === 'answered', 10_000, 'record answered');
    } finally {
      await close();
    }
    const afterAnswer = await push();
    await sleep(SETTLE_MS);

    const calls = agentCallsFor(agent, user!.phone).length;
    const replies = textsTo(sandbox, user!.phone);
    console.log(
      `live lease: re-push while running → HTTP ${whileRunning}, after the answer → HTTP ${afterAnswer}; ${calls} agent call, ${replies.length} reply`,
    );
    expect(whileRunning).toBe(429);
    expect(afterAnswer).toBe(204);
    expect(calls).toBe(1);
    expect(replies).toEqual(['Echo #1: slow question']);
  });

  it('keeps every user’s replies in order with 5 users × 20 messages and random agent latency, users in parallel', async () => {
    const sandbox = stack.sandbox!;
    const agent = stack.agent!;
    const users = makeUsers('order', 5);
    const perUser = 20;
    agent.latencyMs = () => randomInt(0, 120);
    const spans: { userId: string; start: number; end: number }[] = [];
    agent.reply(({ call, turn }) => {
      spans.push({ userId: call.userId, start: call.at.getTime(), end: Date.now() });
      return `Echo #${turn}: ${call.text}`;
    });

    const started = Date.now();
    const sentTexts = new Map(users.map((user) => [user.phone, [] as string[]]));
    // Users write at the same time; each user's own messages go out one after another, as on a phone.
    await Promise.all(
      users.map(async (user) => {
        for (let i = 1; i <= perUser; i += 1) {
          const text = `${user.label} message ${String(i).padStart(2, '0')}`;
          sentTexts.get(user.phone)!.push(text);
          expect((await postWebhook(stack, textWebhook(user, text))).status).toBe(200);
        }
      }),
    );
    const posted = Date.now();
    await sandbox.waitFor(() => sandbox.sent().length >= users.length * perUser, 60_000);
    const drained = Date.now();
    await sleep(SETTLE_MS);

    let inOrder = 0;
    for (const user of users) {
      const got = textsTo(sandbox, user.phone);
      const echoes = got.map(echoed);
      if (JSON.stringify(echoes) === JSON.stringify(sentTexts.get(user.phone))) inOrder += 1;
      expect(echoes, `replies to ${user.label}`).toEqual(sentTexts.get(user.phone));
      // The agent's own turn counter shows it saw them one at a time, in order, once each.
      expect(got.map((text) => Number(/^Echo #(\d+):/.exec(text)?.[1]))).toEqual(sentTexts.get(user.phone)!.map((_, i) => i + 1));
      expect(agentCallsFor(agent, user.phone).map((call) => call.text)).toEqual(sentTexts.get(user.phone));
    }

    // Parallelism: pairs of agent calls from different users whose runs overlap in time.
    let overlapping = 0;
    for (let i = 0; i < spans.length; i += 1) {
      for (let j = i + 1; j < spans.length; j += 1) {
        const [x, y] = [spans[i]!, spans[j]!];
        if (x.userId !== y.userId && x.start < y.end && y.start < x.end) overlapping += 1;
      }
    }
    const perUserSerial = users.every((user) => {
      const own = spans.filter((span) => span.userId === user.phone).sort((p, q) => p.start - q.start);
      return own.every((span, k) => k === 0 || span.start >= own[k - 1]!.end);
    });
    const sentCount = sandbox.sent().length;
    console.log(
      `order: ${users.length} users × ${perUser} messages → ${sentCount} replies, ${agent.calls.length} agent calls, ` +
        `${inOrder}/${users.length} users in order; posted in ${posted - started} ms, drained in ${drained - started} ms; ` +
        `overlapping agent calls of different users: ${overlapping} pairs; one user's calls never overlap: ${perUserSerial}`,
    );
    expect(sentCount).toBe(users.length * perUser);
    expect(agent.calls).toHaveLength(users.length * perUser);
    expect(overlapping).toBeGreaterThan(0);
    expect(perUserSerial).toBe(true);
  });

  it('keeps paused users silent and their messages recorded once, in order, while other users are answered in order (duplicates, a Graph 500)', async () => {
    const sandbox = stack.sandbox!;
    const agent = stack.agent!;
    const users = makeUsers('pause', 4);
    const [paused, active] = [users.slice(0, 2), users.slice(2)];
    const perUser = 8;
    // Staff answer two users from the Business app: the signed echoes pause the bot for them.
    for (const user of paused) {
      const echo = newWamid();
      expect((await postWebhook(stack, echoWebhook(user, `Hola ${user.label}, soy Ana`, { wamid: echo }))).status).toBe(200);
      await until(() => stack.worker.lines.some((line) => line.includes(echo) && line.includes('hand-off started')), 30_000, 'echo recorded');
    }
    sandbox.failNext({ status: 500, code: 2, only: 'send' });
    const sentTexts = new Map(users.map((user) => [user.phone, [] as string[]]));
    const pausedWamids = new Set<string>();
    await Promise.all(
      users.map(async (user) => {
        for (let i = 1; i <= perUser; i += 1) {
          const text = `${user.label} message ${i}`;
          sentTexts.get(user.phone)!.push(text);
          const wamid = newWamid();
          if (paused.includes(user)) pausedWamids.add(wamid);
          const body = textWebhook(user, text, { wamid });
          // Meta delivers every other message twice.
          for (let copy = 0; copy < (i % 2 ? 2 : 1); copy += 1) expect((await postWebhook(stack, body)).status).toBe(200);
        }
      }),
    );
    await sandbox.waitFor(() => active.every((user) => textsTo(sandbox, user.phone).length >= perUser), 60_000);
    const db = new Firestore({ projectId: stack.projectId });
    const handoffs = createFirestoreHandoffStore(db);
    const recorded = async (phone: string) => (await handoffs.get({ phoneNumberId: DEFAULT_PHONE_NUMBER_ID, userId: phone }, new Date()))?.entries ?? [];
    try {
      await until(async () => (await Promise.all(paused.map((user) => recorded(user.phone)))).every((entries) => entries.length >= perUser + 1), 30_000, 'paused messages recorded');
      await sleep(SETTLE_MS);
      for (const user of active) {
        expect(textsTo(sandbox, user.phone).map(echoed), `replies to ${user.label}`).toEqual(sentTexts.get(user.phone));
        expect(agentCallsFor(agent, user.phone)).toHaveLength(perUser);
      }
      for (const user of paused) {
        const calls = sandbox.requests.filter((r) => {
          const body = r.body as Record<string, unknown> | undefined;
          return body?.to === `+${user.phone}`;
        });
        expect(calls, `Graph calls to ${user.label}`).toEqual([]);
        expect(agentCallsFor(agent, user.phone)).toEqual([]);
        const entries = await recorded(user.phone);
        expect(entries.map((entry) => `${entry.from}: ${entry.text}`)).toEqual([
          `staff: Hola ${user.label}, soy Ana`,
          ...sentTexts.get(user.phone)!.map((text) => `user: ${text}`),
        ]);
      }
      expect(sandbox.reads().filter((read) => pausedWamids.has(read.messageId))).toEqual([]);
      console.log(
        `hand-off: ${paused.length} paused users × ${perUser} messages (every other one delivered twice) → 0 Graph calls, 0 agent calls, each recorded once in order; ` +
          `${active.length} active users answered in order despite a Graph 500`,
      );
    } finally {
      await db.terminate();
    }
  });

  it('sends the stored reply once after Graph fails twice with 500, without asking the agent again', async () => {
    const sandbox = stack.sandbox!;
    const agent = stack.agent!;
    const [user] = makeUsers('g500', 1);
    sandbox.failNext({ status: 500, code: 2, count: 2, only: 'send' });

    const started = Date.now();
    expect((await postWebhook(stack, textWebhook(user!, 'graph is flaky'))).status).toBe(200);
    await sandbox.waitFor(() => textsTo(sandbox, user!.phone).length > 0, 20_000);
    const answeredAfter = Date.now() - started;
    await sleep(SETTLE_MS);

    const attempts = sendAttemptsTo(sandbox, user!.phone);
    const refused = sandbox.requests.filter((r) => r.status === 500).length;
    const calls = agentCallsFor(agent, user!.phone).length;
    const replies = textsTo(sandbox, user!.phone);
    console.log(
      `graph 500 ×2: ${attempts} send attempts (${refused} refused) → ${replies.length} reply after ${answeredAfter} ms, ${calls} agent call`,
    );
    expect(refused).toBe(2);
    expect(attempts).toBe(3);
    expect(replies).toEqual(['Echo #1: graph is flaky']);
    expect(calls).toBe(1);
  });

  it('gives up at once on Graph code 190: one send attempt, record failed with graph_190', async () => {
    const sandbox = stack.sandbox!;
    const agent = stack.agent!;
    const [user] = makeUsers('g190', 1);
    sandbox.failNext({ status: 401, code: 190, count: 5, only: 'send' });

    const wamid = newWamid();
    expect((await postWebhook(stack, textWebhook(user!, 'token expired', { wamid }))).status).toBe(200);
    await sandbox.waitFor(() => sendAttemptsTo(sandbox, user!.phone) > 0, 20_000);
    const { ledger, close } = openLedger(stack);
    try {
      // The record settles right after the refused send; read it once it has.
      let record = await ledger.get(wamid);
      for (let i = 0; i < 50 && record?.state === 'processing'; i += 1) {
        await sleep(100);
        record = await ledger.get(wamid);
      }
      // Long enough for Pub/Sub's ~1 s retry, if the worker had asked for one.
      await sleep(SETTLE_MS + 500);
      const attempts = sendAttemptsTo(sandbox, user!.phone);
      const calls = agentCallsFor(agent, user!.phone).length;
      const finalRecord = await ledger.get(wamid);
      console.log(
        `graph 190: ${attempts} send attempt, ${calls} agent call, ${textsTo(sandbox, user!.phone).length} replies; ` +
          `record state=${finalRecord?.state} reason=${finalRecord?.failureReason} deliveries=${finalRecord?.attempts} exhausted=${finalRecord?.exhausted}`,
      );
      expect(attempts).toBe(1);
      expect(calls).toBe(1);
      expect(textsTo(sandbox, user!.phone)).toEqual([]);
      expect(finalRecord?.state).toBe('failed');
      expect(finalRecord?.failureReason).toBe('graph_190');
      expect(finalRecord?.exhausted).toBe(false);
      expect(finalRecord?.attempts).toBe(1);
      expect(finalRecord?.replyChunks).toEqual([
        { kind: 'message', message: { type: 'text', text: { body: 'Echo #1: token expired', preview_url: false } } },
      ]);
    } finally {
      sandbox.clearFaults();
      await close();
    }
  });
});
