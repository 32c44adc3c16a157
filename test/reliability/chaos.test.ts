import * as grpc from '@grpc/grpc-js';
import { Firestore, type DocumentData } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { listDeadLetters } from '../../scripts/dlq/deadLetters.js';
import { INBOUND_COLLECTION } from '../../shared/store/firestoreInboundLedger.js';
import { startWhatsAppSandbox, type WhatsAppSandbox } from '../../local/sandbox/whatsappSandbox.js';
import { DEFAULT_PHONE_NUMBER_ID, mediaWebhook, newWamid, textWebhook } from '../../local/webhookBodies.js';
import { describeWithEmulators, postWebhook, startTestStack } from '../integration/testStack.js';
import { echoed, makeUsers, sleep, startFaultyGraph, tally, until, type FaultyGraph } from './helpers.js';

const USERS = 50;
const MESSAGES_PER_USER = 10;
const GRAPH_SEND_FAILURE_RATE = 0.1;
const AGENT_FAILURE_RATE = 0.05;
const DUPLICATE_RATE = 0.15;
/** Messages sent as a zip with the text as its caption: the agent gets the caption and a note in the file's place. */
const ATTACHMENT_RATE = 0.1;
const ZIP = Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(1000, 1)]);
const APOLOGY_TEXT = 'Sorry, chaos got the better of me. Please try again.';
const ACCESS_TOKEN = 'chaos-access-token';
/** A second business number, served by AGENT_ENGINE as any number outside AGENT_ENGINE_BY_NUMBER. */
const SECOND_NUMBER = '555000111222333';

/** Deterministic per run, printed, so a failing run can be replayed with CHAOS_SEED. */
const seed = Number(process.env.CHAOS_SEED) || Math.floor(Math.random() * 2 ** 31);
function mulberry32(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Our own sandbox behind a front that fails a share of sends at random (the sandbox only has
 * failNext), and a stack sending through it; started before the suite's tests, stopped after.
 */
function useChaosStack(graphSeed: number, env: Record<string, string> = {}) {
  const chaos = {} as { sandbox: WhatsAppSandbox; graph: FaultyGraph; stack: LocalStack };
  beforeAll(async () => {
    chaos.sandbox = await startWhatsAppSandbox({ host: '127.0.0.1', accessToken: ACCESS_TOKEN });
    chaos.graph = await startFaultyGraph(chaos.sandbox.url, mulberry32(graphSeed));
    chaos.stack = await startTestStack({
      WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
      GRAPH_API_BASE_URL: chaos.graph.url,
      USER_RATE_LIMIT_PER_MINUTE: '100000',
      APOLOGY_TEXT,
      // The emulator never dead-letters from an ordered push subscription: a message that exhausts
      // its attempts stalls the whole subscription there. With 10 attempts at ~15% failure each,
      // exhaustion has odds of about 1e-8 per message, so the run measures retries, not that stall.
      MAX_DELIVERY_ATTEMPTS: '10',
      // The second number has words and a template of its own (none of them in the run's texts): per-number settings on.
      TEXTS_BY_NUMBER: JSON.stringify({
        [SECOND_NUMBER]: { OPT_OUT_COMMANDS: 'sair,parar', OPT_IN_COMMANDS: 'voltar', RESET_COMMANDS: '/recomeçar', REENGAGE_TEMPLATE_LANGUAGE: 'pt_BR' },
      }),
      LOG_LEVEL: 'info',
      ...env,
    });
  });
  afterAll(async () => {
    await chaos.stack?.stop();
    await chaos.graph?.close();
    await chaos.sandbox?.close();
  });
  return chaos;
}

describeWithEmulators('reliability: chaos run', () => {
  // Media on: the zips go through the media path (Meta's metadata through the faulty Graph), which describes them to the agent.
  const chaos = useChaosStack(seed ^ 0x9e3779b9, { AGENT_ACCEPTS_MEDIA: 'true' });

  it(`${USERS} users × ${MESSAGES_PER_USER} messages to two business numbers with duplicates, Graph 5xx and agent UNAVAILABLE: once each, in order`, async () => {
    const { sandbox, graph, stack } = chaos;
    const agent = stack.agent!;
    const random = mulberry32(seed);
    agent.latencyMs = () => Math.floor(random() * 40);
    agent.failWhen((request) => request.method === 'async_stream_query' && random() < AGENT_FAILURE_RATE, grpc.status.UNAVAILABLE);
    graph.sendFailureRate = GRAPH_SEND_FAILURE_RATE;

    const users = makeUsers('chaos', USERS);
    const plan = users.map((user, u) =>
      Array.from({ length: MESSAGES_PER_USER }, (_, m) => ({
        user,
        wamid: newWamid(),
        text: `chaos user ${u + 1} message ${m + 1}`,
        // Users write to both numbers: two conversations each, answered from the number written to.
        phoneNumberId: random() < 0.5 ? DEFAULT_PHONE_NUMBER_ID : SECOND_NUMBER,
        duplicate: random() < DUPLICATE_RATE ? (random() < 0.5 ? ('concurrent' as const) : ('later' as const)) : undefined,
        attachment: random() < ATTACHMENT_RATE,
      })),
    );
    const all = plan.flat();
    const attachments = all.filter((message) => message.attachment);
    let deliveries = 0;
    const statuses: number[] = [];
    const deliver = async (body: unknown) => {
      deliveries += 1;
      statuses.push((await postWebhook(stack, body)).status);
    };

    const started = Date.now();
    await Promise.all(
      plan.map(async (messages) => {
        const later: unknown[] = [];
        for (const message of messages) {
          const options = { wamid: message.wamid, phoneNumberId: message.phoneNumberId };
          const body = message.attachment
            ? mediaWebhook(message.user, 'document', { id: sandbox.addMedia(ZIP, 'application/zip'), mimeType: 'application/zip', sha256: 'chaos', filename: 'photos.zip', caption: message.text }, options)
            : textWebhook(message.user, message.text, options);
          if (message.duplicate === 'concurrent') await Promise.all([deliver(body), deliver(body)]);
          else await deliver(body);
          // A "later" duplicate is re-delivered after the user's next message, as Meta does after a timeout.
          for (const pending of later.splice(0)) await deliver(pending);
          if (message.duplicate === 'later') later.push(body);
        }
        for (const pending of later) await deliver(pending);
      }),
    );
    const postedMs = Date.now() - started;

    const repliesTo = (phone: string) => sandbox.sent().filter((message) => message.to === `+${phone}`);
    const resolved = () => {
      let answered = 0;
      let apologised = 0;
      for (const user of users) {
        for (const reply of repliesTo(user.phone)) {
          if (reply.text === APOLOGY_TEXT) apologised += 1;
          else answered += 1;
        }
      }
      return answered + apologised;
    };
    // Liveness only (speed is the bench's): on a loaded 2-core machine the emulator's two pushes in
    // flight per subscription take minutes to drain 580 deliveries with retries and backoff.
    await sandbox.waitFor(() => resolved() >= all.length, 270_000);
    const drainedMs = Date.now() - started;
    await sleep(2000);

    // The ledger's view of every message.
    const db = new Firestore({ projectId: stack.projectId });
    const records = new Map<string, DocumentData>();
    try {
      const snapshot = await db.collection(INBOUND_COLLECTION).get();
      for (const doc of snapshot.docs) records.set(decodeURIComponent(doc.id), doc.data());
    } finally {
      await db.terminate();
    }

    // An attachment's turn reaches the agent as its caption, then the note in the file's place: each is known by its first line.
    const firstLine = (text: string | undefined) => text?.split('\n')[0];
    const successfulCalls = tally(agent.calls.filter((call) => call.failedWith === undefined).map((call) => firstLine(call.text)));
    const describedAttachments = new Set(
      agent.calls.filter((call) => call.text.includes('\n[The user attached a file "photos.zip" (application/zip')).map((call) => firstLine(call.text)),
    );
    const failedAgentCalls = agent.calls.filter((call) => call.failedWith === grpc.status.UNAVAILABLE).length;
    const replyCounts = tally(sandbox.sent().map((message) => firstLine(echoed(message.text ?? '')) ?? message.text ?? ''));
    const repliedFrom = new Map(sandbox.sent().map((message) => [firstLine(echoed(message.text ?? '')), message.phoneNumberId]));
    const answered = all.filter((message) => records.get(message.wamid)?.state === 'answered');
    const apologised = all.filter((message) => records.get(message.wamid)?.state === 'failed');
    const unresolved = all.filter((message) => !['answered', 'failed'].includes(records.get(message.wamid)?.state));

    const problems: string[] = [];
    for (const message of answered) {
      const replies = replyCounts.get(message.text) ?? 0;
      const calls = successfulCalls.get(message.text) ?? 0;
      if (replies !== 1) problems.push(`${message.text}: ${replies} replies`);
      if (calls !== 1) problems.push(`${message.text}: ${calls} successful agent calls`);
      if (repliedFrom.get(message.text) !== message.phoneNumberId) problems.push(`${message.text}: answered from ${repliedFrom.get(message.text)}`);
      if (message.attachment && !describedAttachments.has(message.text)) problems.push(`${message.text}: its zip was not described to the agent`);
    }
    const deadLetters = apologised.length > 0
      ? await listDeadLetters({
          projectId: stack.projectId,
          inboundTopic: stack.layout.topic,
          deadLetterSubscription: stack.layout.deadLetterSubscription,
        })
      : [];
    for (const message of apologised) {
      const record = records.get(message.wamid)!;
      if (!record.exhausted || !record.apologySent) problems.push(`${message.text}: failed but not exhausted+apologised (${record.failureReason})`);
      if (!deadLetters.some((letter) => letter.wamid === message.wamid)) problems.push(`${message.text}: failed but not dead-lettered`);
    }
    const apologies = sandbox.sent().filter((message) => message.text === APOLOGY_TEXT).length;

    // Per-user order: the texts a user got back appear in the order the user sent them.
    let usersInOrder = 0;
    for (const [u, messages] of plan.entries()) {
      const order = new Map(messages.map((message, i) => [message.text, i]));
      const got = repliesTo(users[u]!.phone)
        .map((reply) => firstLine(echoed(reply.text ?? '')))
        .filter((text): text is string => text !== undefined)
        .map((text) => order.get(text) ?? -1);
      if (got.every((index, i) => index >= 0 && (i === 0 || index > got[i - 1]!))) usersInOrder += 1;
      else problems.push(`user ${u + 1} order: ${got.join(',')}`);
    }

    const duplicatesPlanned = all.filter((message) => message.duplicate).length;
    const sentReplies = sandbox.sent().length - apologies;
    console.log(
      [
        `chaos (seed ${seed}): ${all.length} messages from ${users.length} users to 2 business numbers ` +
          `(${all.filter((message) => message.phoneNumberId === SECOND_NUMBER).length} to the second), ${deliveries} webhook deliveries ` +
          `(${duplicatesPlanned} duplicated, ${attachments.length} with a zip attached), ${statuses.filter((s) => s === 200).length}×200, posted in ${postedMs} ms, resolved in ${drainedMs} ms`,
        `  faults: Graph sends failed ${graph.injected}/${graph.injected + sandbox.sent().length} ` +
          `(${((100 * graph.injected) / (graph.injected + sandbox.sent().length)).toFixed(1)}%), ` +
          `agent UNAVAILABLE ${failedAgentCalls}/${agent.calls.length} (${((100 * failedAgentCalls) / agent.calls.length).toFixed(1)}%)`,
        `  outcome: ${answered.length} answered, ${apologised.length} apologised+dead-lettered (${deadLetters.length} in DLQ), ${unresolved.length} unresolved; ` +
          `${usersInOrder}/${users.length} users in order`,
        `  per answered message: successful agent calls ${(sum(successfulCalls) / Math.max(1, answered.length)).toFixed(2)}, ` +
          `replies ${(sentReplies / Math.max(1, answered.length)).toFixed(2)}; all agent calls per message ${(agent.calls.length / all.length).toFixed(2)}`,
        `  totals: ${agent.calls.length} agent calls, ${sentReplies} replies, ${apologies} apologies, problems: ${problems.length}`,
      ].join('\n'),
    );

    expect(all.length).toBeGreaterThanOrEqual(500);
    expect(duplicatesPlanned).toBeGreaterThan(0);
    expect(attachments.length).toBeGreaterThan(0);
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(graph.injected).toBeGreaterThan(0);
    expect(failedAgentCalls).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    expect(unresolved).toEqual([]);
    expect(answered.length + apologised.length).toBe(all.length);
    expect(apologies).toBe(apologised.length);
    expect(sentReplies).toBe(answered.length);
    expect(sum(successfulCalls)).toBe(answered.length);
    expect(usersInOrder).toBe(users.length);
  }, 300_000);
});

function sum(counts: Map<unknown, number>): number {
  let total = 0;
  for (const value of counts.values()) total += value;
  return total;
}

const BURSTY_USERS = 30;
const BURSTY_MESSAGES_PER_USER = 10;
const BURST_WINDOW_MS = 1000;

describeWithEmulators('reliability: chaos run with bursty users (bursts on)', () => {
  const chaos = useChaosStack(seed ^ 0x85ebca6b, { BURST_WINDOW_MS: String(BURST_WINDOW_MS), BURST_MAX_WAIT_MS: '4000' });

  it(`${BURSTY_USERS} users × ${BURSTY_MESSAGES_PER_USER} messages 100–800 ms apart, with duplicates and faults: every message in one turn, answered once, in order`, async () => {
    const { sandbox, graph, stack } = chaos;
    const agent = stack.agent!;
    const random = mulberry32(seed ^ 0x27d4eb2f);
    agent.latencyMs = () => Math.floor(random() * 40);
    agent.failWhen((request) => request.method === 'async_stream_query' && random() < AGENT_FAILURE_RATE, grpc.status.UNAVAILABLE);
    graph.sendFailureRate = GRAPH_SEND_FAILURE_RATE;
    // Bursts make few sends (about one per 8 messages): make sure some of them fail.
    graph.failFirstSends = 2;

    const users = makeUsers('bursty', BURSTY_USERS);
    const plan = users.map((user, u) =>
      Array.from({ length: BURSTY_MESSAGES_PER_USER }, (_, m) => ({
        user,
        wamid: newWamid(),
        text: `bursty user ${u + 1} message ${m + 1}`,
        // Mostly 100–800 ms after the previous message; now and then a pause that ends the burst.
        gapMs: random() < 0.25 ? 1500 + Math.floor(random() * 1500) : 100 + Math.floor(random() * 700),
        duplicate: random() < DUPLICATE_RATE ? (random() < 0.5 ? ('concurrent' as const) : ('later' as const)) : undefined,
      })),
    );
    const all = plan.flat();
    const statuses: number[] = [];
    const deliver = async (body: unknown) => statuses.push((await postWebhook(stack, body)).status);

    const started = Date.now();
    await Promise.all(
      plan.map(async (messages) => {
        const later: unknown[] = [];
        for (const [m, message] of messages.entries()) {
          if (m > 0) await sleep(message.gapMs);
          const body = textWebhook(message.user, message.text, { wamid: message.wamid });
          if (message.duplicate === 'concurrent') await Promise.all([deliver(body), deliver(body)]);
          else await deliver(body);
          for (const pending of later.splice(0)) await deliver(pending);
          if (message.duplicate === 'later') later.push(body);
        }
        for (const pending of later) await deliver(pending);
      }),
    );
    const postedMs = Date.now() - started;

    // Every message resolves through its turn's record: answered, or failed with an apology.
    const db = new Firestore({ projectId: stack.projectId });
    const records = new Map<string, DocumentData>();
    const outcomeOf = (wamid: string): string | undefined => {
      const record = records.get(wamid);
      if (!record) return undefined;
      const turn = record.state === 'merged' ? records.get(record.turnId) : record;
      return ['answered', 'failed'].includes(turn?.state) ? turn!.state : undefined;
    };
    try {
      await until(
        async () => {
          records.clear();
          const snapshot = await db.collection(INBOUND_COLLECTION).get();
          for (const doc of snapshot.docs) records.set(decodeURIComponent(doc.id), doc.data());
          return all.every((message) => outcomeOf(message.wamid) !== undefined);
        },
        180_000,
        'every bursty message resolved',
      );
    } finally {
      await db.terminate();
    }
    const drainedMs = Date.now() - started;
    await sleep(2000);

    const position = new Map(all.map((message) => [message.text, message]));
    const successfulCalls = agent.calls.filter((call) => call.failedWith === undefined);
    const inCalls = tally(successfulCalls.flatMap((call) => call.text.split('\n')));
    const replies = sandbox.sent().filter((message) => message.text !== APOLOGY_TEXT);
    const inReplies = tally(replies.flatMap((message) => (echoed(message.text ?? '') ?? '').split('\n')));
    const answered = all.filter((message) => outcomeOf(message.wamid) === 'answered');
    const failed = all.filter((message) => outcomeOf(message.wamid) === 'failed');
    const failedTurns = new Set(failed.map((message) => records.get(message.wamid)!.turnId ?? message.wamid));
    const apologies = sandbox.sent().filter((message) => message.text === APOLOGY_TEXT).length;

    const problems: string[] = [];
    for (const message of answered) {
      if (inReplies.get(message.text) !== 1) problems.push(`${message.text}: in ${inReplies.get(message.text) ?? 0} replies`);
      if (inCalls.get(message.text) !== 1) problems.push(`${message.text}: in ${inCalls.get(message.text) ?? 0} successful agent calls`);
    }
    for (const text of inReplies.keys()) if (!position.has(text)) problems.push(`reply to something never sent: ${text}`);
    const deadLetters = failedTurns.size > 0
      ? await listDeadLetters({
          projectId: stack.projectId,
          inboundTopic: stack.turnsLayout.topic,
          deadLetterSubscription: stack.turnsLayout.deadLetterSubscription,
        })
      : [];
    for (const message of failed) {
      const turnId = records.get(message.wamid)!.turnId ?? message.wamid;
      const turn = records.get(turnId)!;
      if (!turn.exhausted || !turn.apologySent) problems.push(`${message.text}: failed but not exhausted+apologised (${turn.failureReason})`);
      if (!deadLetters.some((letter) => letter.turnWamids?.includes(message.wamid))) problems.push(`${message.text}: failed but its turn is not dead-lettered`);
    }

    // Per-user order: the messages a user's replies answer, read in reply order, are in sending order.
    let inversions = 0;
    for (const [u, messages] of plan.entries()) {
      const order = new Map(messages.map((message, i) => [message.text, i]));
      const got = sandbox
        .sent()
        .filter((reply) => reply.to === `+${users[u]!.phone}` && reply.text !== APOLOGY_TEXT)
        .flatMap((reply) => (echoed(reply.text ?? '') ?? '').split('\n'))
        .map((text) => order.get(text) ?? -1);
      for (let i = 1; i < got.length; i += 1) if (got[i]! <= got[i - 1]!) inversions += 1;
      if (got.some((index) => index < 0)) problems.push(`user ${u + 1}: a reply answers another user's message`);
    }

    const turns = successfulCalls.length;
    const turnsPerMessage = turns / all.length;
    const lost = all.length - answered.length - failed.length;
    console.log(
      [
        `chaos with bursts (seed ${seed}, window ${BURST_WINDOW_MS} ms): ${all.length} messages from ${users.length} users, ` +
          `${statuses.length} webhook deliveries (${all.filter((m) => m.duplicate).length} duplicated), posted in ${postedMs} ms, resolved in ${drainedMs} ms`,
        `  faults: Graph sends failed ${graph.injected}, agent UNAVAILABLE ${agent.calls.length - turns}/${agent.calls.length}`,
        `  outcome: ${answered.length} answered, ${failed.length} in ${failedTurns.size} failed turns (apologised+dead-lettered, ${deadLetters.length} in DLQ), ` +
          `${lost} lost, ${problems.filter((p) => /replies/.test(p)).length} duplicate/missing replies, ${inversions} order inversions`,
        `  agent turns per message: ${turnsPerMessage.toFixed(2)} (${turns} successful agent calls for ${all.length} messages), ` +
          `replies ${replies.length}, apologies ${apologies}, problems: ${problems.length}`,
      ].join('\n'),
    );

    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(graph.injected).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    expect(lost).toBe(0);
    expect(inversions).toBe(0);
    expect(apologies).toBe(failedTurns.size);
    expect(turnsPerMessage).toBeLessThan(1);
  }, 300_000);
});
