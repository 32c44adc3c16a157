import { randomInt } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { DEFAULT_PHONE_NUMBER_ID, newWamid, textWebhook, type WebhookSender } from '../../local/webhookBodies.js';
import { describeWithEmulators, postWebhook, startTestStack } from './testStack.js';

const LIMIT = 10;
const SLOW_DOWN_TEXT = 'Easy there! Give me a minute and write again. (rate-limit test)';
const MINUTE_MS = 60_000;
/** Room a burst needs in one window: time to process 25 messages on a slow machine. */
const BURST_ROOM_MS = 25_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithEmulators('per-user rate limit (USER_RATE_LIMIT_PER_MINUTE)', () => {
  let stack: LocalStack;
  let db: Firestore;

  beforeAll(async () => {
    stack = await startTestStack({ USER_RATE_LIMIT_PER_MINUTE: String(LIMIT), SLOW_DOWN_TEXT });
    db = new Firestore({ projectId: stack.projectId });
  });
  afterAll(async () => {
    await db?.terminate();
    await stack?.stop();
  });

  const newUser = (label: string): WebhookSender & { phone: string } => ({
    phone: `5255${randomInt(10_000_000, 99_999_999)}`,
    name: label,
  });
  const textsTo = (phone: string) =>
    stack.sandbox!.sent().filter((message) => message.to === `+${phone}`).map((message) => message.text ?? '');
  const agentCallsFor = (phone: string) => stack.agent!.calls.filter((call) => call.userId === phone);

  /** State of every message's idempotency record: `answered` means the worker acknowledged it. */
  async function ledgerStates(wamids: string[]): Promise<(string | undefined)[]> {
    const snapshots = await db.getAll(...wamids.map((wamid) => db.collection('inbound_messages').doc(wamid)));
    return snapshots.map((snapshot) => snapshot.get('state') as string | undefined);
  }

  /**
   * Runs the burst inside one fixed minute window (the limiter's): starts in a fresh minute when too
   * little of this one is left, and reports whether it really stayed in one window.
   */
  async function burst() {
    const leftInMinute = MINUTE_MS - (Date.now() % MINUTE_MS);
    if (leftInMinute < BURST_ROOM_MS) await sleep(leftInMinute + 200);
    const startedAt = Date.now();

    const greedy = newUser('Greedy');
    const polite = newUser('Polite');
    const greedyWamids: string[] = [];
    const politeWamids: string[] = [];
    const statuses: number[] = [];
    // Interleaved, one POST at a time, so each user's publish order is the order written.
    for (let i = 1; i <= 15; i += 1) {
      const wamid = newWamid();
      greedyWamids.push(wamid);
      statuses.push((await postWebhook(stack, textWebhook(greedy, `greedy ${i}`, { wamid }))).status);
      if (i <= LIMIT) {
        const politeWamid = newWamid();
        politeWamids.push(politeWamid);
        statuses.push((await postWebhook(stack, textWebhook(polite, `polite ${i}`, { wamid: politeWamid }))).status);
      }
    }

    // Done when every message of both users is settled in the ledger.
    const deadline = Date.now() + 45_000;
    let states = await ledgerStates([...greedyWamids, ...politeWamids]);
    while (!states.every((state) => state === 'answered' || state === 'failed') && Date.now() < deadline) {
      await sleep(200);
      states = await ledgerStates([...greedyWamids, ...politeWamids]);
    }
    const finishedAt = Date.now();
    const oneWindow = Math.floor(startedAt / MINUTE_MS) === Math.floor(finishedAt / MINUTE_MS);
    return { greedy, polite, greedyWamids, politeWamids, statuses, states, oneWindow };
  }

  it('15 messages in a minute → 10 agent calls and one slow-down reply; another user is unaffected', async () => {
    let run = await burst();
    // A burst that straddled a minute boundary is counted in two windows: run it again in one.
    if (!run.oneWindow) run = await burst();
    expect(run.oneWindow, 'the burst did not fit in one minute window twice').toBe(true);
    const { greedy, polite } = run;

    // Every message was acknowledged: by the webhook, and by the worker (settled as answered, not retried).
    expect(run.statuses).toHaveLength(25);
    expect(run.statuses.every((status) => status === 200)).toBe(true);
    expect(run.states).toEqual(Array(25).fill('answered'));

    // Exactly the first ten reached the agent, in order.
    const greedyCalls = agentCallsFor(greedy.phone);
    expect(greedyCalls.map((call) => call.text)).toEqual(Array.from({ length: LIMIT }, (_, i) => `greedy ${i + 1}`));

    // Ten answers and one slow-down message; the other four get nothing.
    const greedyTexts = textsTo(greedy.phone);
    expect(greedyTexts.filter((text) => text === SLOW_DOWN_TEXT)).toHaveLength(1);
    expect(greedyTexts.filter((text) => text.startsWith('Echo #'))).toHaveLength(LIMIT);
    expect(greedyTexts).toHaveLength(LIMIT + 1);
    expect(greedyTexts.at(-1)).toBe(SLOW_DOWN_TEXT);

    // The polite user, writing at the same time, reached its own limit without being slowed down.
    expect(agentCallsFor(polite.phone)).toHaveLength(LIMIT);
    const politeTexts = textsTo(polite.phone);
    expect(politeTexts).toHaveLength(LIMIT);
    expect(politeTexts).not.toContain(SLOW_DOWN_TEXT);
    expect(politeTexts).toEqual(Array.from({ length: LIMIT }, (_, i) => `Echo #${i + 1}: polite ${i + 1}`));

    // The decision lives in Firestore (shared by every worker instance), not in one instance's memory.
    // Per conversation: the user with the one business number the test writes to.
    const window = await db.collection('rate_limits').doc(`${DEFAULT_PHONE_NUMBER_ID}:${encodeURIComponent(greedy.phone)}`).get();
    expect(window.get('count')).toBe(15);
  });
});
