import * as grpc from '@grpc/grpc-js';
import { PubSub } from '@google-cloud/pubsub';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { listDeadLetters, replayDeadLetters, type DeadLetterOptions } from '../../scripts/dlq/deadLetters.js';
import { newWamid, textWebhook } from '../../local/webhookBodies.js';
import { describeWithEmulators, postWebhook, startTestStack } from '../integration/testStack.js';
import { agentCallsFor, makeUsers, openLedger, sleep, textsTo, until, waitForLine } from './helpers.js';

const APOLOGY_TEXT = 'Sorry! Our assistant is having trouble. Please try again later.';
const MAX_DELIVERY_ATTEMPTS = 5;

describeWithEmulators('reliability: final attempt → apology → dead letter → replay', () => {
  let stack: LocalStack;
  let dlq: DeadLetterOptions;
  beforeAll(async () => {
    // The real ordered subscription: the worker dead-letters by its own count (the emulator cannot).
    stack = await startTestStack({
      APOLOGY_TEXT,
      MAX_DELIVERY_ATTEMPTS: String(MAX_DELIVERY_ATTEMPTS),
    });
    dlq = {
      projectId: stack.projectId,
      inboundTopic: stack.layout.topic,
      deadLetterSubscription: stack.layout.deadLetterSubscription,
      idleMs: 1500,
    };
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('apologises once, dead-letters, answers others meanwhile, and a replay answers it once', async () => {
    const sandbox = stack.sandbox!;
    const agent = stack.agent!;
    const [unlucky, ...others] = makeUsers('dlq', 3);
    let agentDownForUnlucky = true;
    agent.failWhen(
      (req) => agentDownForUnlucky && req.method === 'async_stream_query' && req.userId === unlucky!.phone,
      grpc.status.UNAVAILABLE,
    );

    const wamid = newWamid();
    const started = Date.now();
    expect((await postWebhook(stack, textWebhook(unlucky!, 'are you there?', { wamid }))).status).toBe(200);
    // Other users write while the unlucky one's message is being retried.
    await sandbox.waitFor(() => agentCallsFor(agent, unlucky!.phone).length >= 2, 20_000);
    for (const user of others) expect((await postWebhook(stack, textWebhook(user, 'hello from another user'))).status).toBe(200);

    const apologies = () => textsTo(sandbox, unlucky!.phone).filter((text) => text === APOLOGY_TEXT);
    await sandbox.waitFor(() => apologies().length > 0, 60_000);
    const apologyAt = Date.now();
    const othersAnsweredBeforeApology = others.every((user) =>
      sandbox.sent().some((m) => m.to === `+${user.phone}` && m.time < apologyAt && m.text === 'Echo #1: hello from another user'),
    );

    const letters = await until(
      async () => {
        const found = (await listDeadLetters(dlq)).filter((letter) => letter.wamid === wamid);
        return found.length > 0 && found;
      },
      20_000,
      'the message in the dead-letter subscription',
    );
    const deadLetteredAfter = Date.now() - started;
    await sleep(1000);
    const failedCalls = agentCallsFor(agent, unlucky!.phone).length;
    const { ledger, close } = openLedger(stack);
    try {
      const failedRecord = await ledger.get(wamid);
      console.log(
        `dead letter: agent UNAVAILABLE for 1 user → ${failedCalls} agent calls (max ${MAX_DELIVERY_ATTEMPTS} deliveries), ` +
          `${apologies().length} apology, dead-lettered after ${deadLetteredAfter} ms; ` +
          `list: ${letters.length} letter wamid=${letters[0]!.wamid === wamid ? 'ok' : letters[0]!.wamid} user=${letters[0]!.userId} ` +
          `reason=${letters[0]!.reason} state=${letters[0]!.state} deliveries=${letters[0]!.deliveryCount}; ` +
          `other users answered before the apology: ${othersAnsweredBeforeApology}`,
      );
      expect(apologies()).toHaveLength(1);
      expect(textsTo(sandbox, unlucky!.phone)).toEqual([APOLOGY_TEXT]);
      expect(failedCalls).toBe(MAX_DELIVERY_ATTEMPTS);
      expect(letters).toHaveLength(1);
      expect(letters[0]!.reason).toBe('agent_unavailable');
      expect(letters[0]!.state).toBe('failed');
      expect(letters[0]!.userId).toBe(unlucky!.phone);
      expect(failedRecord).toMatchObject({ state: 'failed', exhausted: true, apologySent: true, failureReason: 'agent_unavailable' });
      expect(othersAnsweredBeforeApology).toBe(true);

      // The agent is healthy again: replay brings the message back and it is answered once.
      agentDownForUnlucky = false;
      const replayed = await replayDeadLetters(dlq, (letter) => letter.wamid === wamid);
      expect(replayed.map((letter) => letter.wamid)).toEqual([wamid]);
      await sandbox.waitFor(() => textsTo(sandbox, unlucky!.phone).length >= 2, 20_000);

      // Replaying again finds nothing; and even a fresh replay of the same message (say, a second copy
      // that was dead-lettered too) leaves the answered record alone.
      const replayedAgain = await replayDeadLetters(dlq, () => true);
      const linesBefore = stack.worker.lines.length;
      const pubsub = new PubSub({ projectId: stack.projectId });
      try {
        await pubsub.topic(stack.layout.topic, { messageOrdering: true }).publishMessage({
          data: replayed[0]!.data,
          orderingKey: unlucky!.phone,
          attributes: { ...messageAttributesOf(replayed[0]!.attributes), replayId: randomUUID() },
        });
      } finally {
        await pubsub.close();
      }
      await waitForLine(
        stack.worker.lines,
        (line) => line.includes(wamid) && line.includes('duplicate delivery of a settled message'),
        20_000,
        linesBefore,
      );
      await sleep(1000);
      const replies = textsTo(sandbox, unlucky!.phone);
      const answeredRecord = await ledger.get(wamid);
      const successfulCalls = agentCallsFor(agent, unlucky!.phone).filter((call) => call.failedWith === undefined);
      console.log(
        `replay: ${replayed.length} replayed → replies ${JSON.stringify(replies)}, record ${answeredRecord?.state}; ` +
          `replay again: ${replayedAgain.length} replayed; forced second replay → ` +
          `${successfulCalls.filter((c) => c.text === 'are you there?').length} successful agent call for the message, acknowledged as a duplicate`,
      );
      expect(replies).toEqual([APOLOGY_TEXT, 'Echo #1: are you there?']);
      expect(answeredRecord?.state).toBe('answered');
      expect(replayedAgain).toEqual([]);
      expect(successfulCalls.map((call) => call.text)).toEqual(['are you there?']);
      expect((await listDeadLetters(dlq)).filter((letter) => letter.wamid === wamid)).toEqual([]);
    } finally {
      await close();
    }
  });
});

function messageAttributesOf(attributes: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).filter(([key]) => !key.startsWith('CloudPubSubDeadLetter') && key !== 'replayId'));
}
