import { PubSub } from '@google-cloud/pubsub';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { describeWithEmulators } from '../../test/integration/testStack.js';
import { decodePushEnvelope } from '../../shared/queue/pushEnvelope.js';
import { describeDeadLetter, listDeadLetters, replayDeadLetters, type DeadLetterOptions } from './deadLetters.js';

describeWithEmulators('npm run dlq and a message that is not the bridge\'s (emulators)', () => {
  let options: DeadLetterOptions;
  let pubsub: PubSub;
  const projectId = `dlq-${randomUUID().slice(0, 8)}`;
  const topic = 'whatsapp-inbound';
  beforeAll(async () => {
    const emulators = inject('emulators') as { pubsubHost: string; firestoreHost: string };
    process.env.PUBSUB_EMULATOR_HOST = emulators.pubsubHost;
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost;
    pubsub = new PubSub({ projectId });
    await pubsub.createTopic(topic);
    await pubsub.createTopic(`${topic}-dlq`);
    await pubsub.topic(`${topic}-dlq`).createSubscription(`${topic}-dlq-sub`);
    options = { projectId, inboundTopic: topic, deadLetterSubscription: `${topic}-dlq-sub`, idleMs: 1500 };
  });
  afterAll(async () => {
    await pubsub?.close();
  });

  it('replay --all leaves a message the worker cannot decode in the DLQ instead of sending it to be dropped', async () => {
    expect(await listDeadLetters(options)).toEqual([]);
    await pubsub.topic(`${topic}-dlq`).publishMessage({ data: Buffer.from('{"hello":1}') });
    const [listed] = await listDeadLetters(options);
    expect(listed).toMatchObject({ wamid: '(unknown)', reason: '(no record)' });
    expect(describeDeadLetter(listed!)).toMatch(/not a message of the bridge: replay leaves it here/);
    // What the worker does with it once replayed: an InvalidPushError of kind "payload", which it acknowledges (204) and drops.
    expect(() => decodePushEnvelope({ message: { data: listed!.data.toString('base64'), attributes: {} }, subscription: 's' })).toThrow(/not an inbound message/);
    expect(await replayDeadLetters(options, () => true)).toEqual([]);
    expect(await listDeadLetters(options)).toHaveLength(1);
  });
});
