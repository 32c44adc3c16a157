import { PubSub } from '@google-cloud/pubsub';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { describeWithEmulators } from '../../test/integration/testStack.js';
import { decodePushEnvelope } from '../../shared/queue/pushEnvelope.js';
import { describeDeadLetter, inOriginalOrder, listDeadLetters, namedBy, replayDeadLetters, type DeadLetterOptions } from './deadLetters.js';

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

describe('choosing and ordering dead letters', () => {
  it('replays in the order the messages were first published, whatever order the dead-letter subscription gave', () => {
    const letter = (id: string, firstPublished: string | undefined, deadLettered: string) => ({
      id,
      attributes: (firstPublished ? { CloudPubSubDeadLetterSourceTopicPublishTime: firstPublished } : {}) as Record<string, string>,
      publishTime: new Date(deadLettered),
    });
    const delivered = [
      letter('second', '2026-12-05T10:00:02Z', '2026-12-05T10:05:00Z'),
      letter('first', '2026-12-05T10:00:01Z', '2026-12-05T10:07:00Z'),
      letter('no source time', undefined, '2026-12-05T10:00:03Z'),
    ];
    expect(inOriginalOrder(delivered).map((message) => message.id)).toEqual(['first', 'second', 'no source time']);
  });

  it('names a dead turn by any of its messages\' wamids', () => {
    const turn = { wamid: 'wamid.b', turnWamids: ['wamid.a', 'wamid.b'] };
    expect(namedBy(turn, new Set(['wamid.a']))).toBe(true);
    expect(namedBy(turn, new Set(['wamid.b']))).toBe(true);
    expect(namedBy(turn, new Set(['wamid.c']))).toBe(false);
    expect(namedBy({ wamid: 'wamid.c' }, new Set(['wamid.c']))).toBe(true);
  });
});
