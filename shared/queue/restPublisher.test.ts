import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import type { MessageEcho } from '../whatsapp/messageEcho.js';
import type { StatusMessage } from '../whatsapp/statusMessage.js';
import { createRestPublisher } from './restPublisher.js';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: { messages: { data: string; orderingKey?: string; attributes: Record<string, string> }[] };
  at: number;
}

/** A stand-in for Pub/Sub's REST endpoint: records each Publish, answers after `delayMs`. */
async function fakePubSub(answer: (received: Received) => { status: number; delayMs?: number } = () => ({ status: 200 })) {
  const received: Received[] = [];
  let id = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = { path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()), at: Date.now() };
      received.push(entry);
      const { status, delayMs = 0 } = answer(entry);
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            status === 200
              ? { messageIds: entry.body.messages.map(() => String(++id)) }
              : { error: { code: status, message: 'nope' } },
          ),
        );
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const message = (userId: string, wamid: string): InboundMessage => ({
  v: 1,
  wamid,
  userId,
  phoneNumberId: '123',
  timestamp: 1790000000,
  content: { kind: 'text', text: `hello ${wamid}` },
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('createRestPublisher', () => {
  it('publishes one message per request with its ordering key, attributes and base64 data', async () => {
    const fake = await fakePubSub();
    cleanups.push(fake.close);
    const publisher = createRestPublisher({ projectId: 'p1', topic: 'inbound', timeoutMs: 2000, emulatorHost: fake.host });
    cleanups.push(() => publisher.close());

    expect(await publisher.publish(message('AR.1', 'wamid.a'), { replayId: 'r1' })).toBe('1');
    const [request] = fake.received;
    expect(request!.path).toBe('/v1/projects/p1/topics/inbound:publish');
    expect(request!.headers.authorization).toBeUndefined();
    expect(request!.body.messages).toHaveLength(1);
    const [sent] = request!.body.messages;
    expect(sent!.orderingKey).toBe('AR.1');
    expect(sent!.attributes).toEqual({ wamid: 'wamid.a', userId: 'AR.1', v: '1', replayId: 'r1' });
    expect(JSON.parse(Buffer.from(sent!.data, 'base64').toString())).toEqual(message('AR.1', 'wamid.a'));
  });

  it('publishes a webhook’s statuses together, without an ordering key, so none waits behind a user’s turn', async () => {
    const fake = await fakePubSub();
    cleanups.push(fake.close);
    const publisher = createRestPublisher({ projectId: 'p1', topic: 'inbound', timeoutMs: 2000, emulatorHost: fake.host });
    cleanups.push(() => publisher.close());
    const status = (wamid: string, value: StatusMessage['status']): StatusMessage => ({
      v: 1,
      kind: 'status',
      wamid,
      status: value,
      timestamp: 1790000000,
      phoneNumberId: '123',
      recipient: 'AR.1',
    });
    await publisher.publishStatuses([status('wamid.x', 'delivered'), status('wamid.y', 'read')]);
    expect(fake.received).toHaveLength(1);
    const sent = fake.received[0]!.body.messages;
    expect(sent.map((m) => m.orderingKey)).toEqual([undefined, undefined]);
    expect(sent.map((m) => m.attributes)).toEqual([
      { kind: 'status', wamid: 'wamid.x', v: '1' },
      { kind: 'status', wamid: 'wamid.y', v: '1' },
    ]);
    expect(JSON.parse(Buffer.from(sent[1]!.data, 'base64').toString())).toEqual(status('wamid.y', 'read'));
  });

  it('publishes a Business app echo with the user’s ordering key, behind that user’s earlier messages', async () => {
    const fake = await fakePubSub(() => ({ status: 200, delayMs: 40 }));
    cleanups.push(fake.close);
    const publisher = createRestPublisher({ projectId: 'p1', topic: 'inbound', timeoutMs: 2000, emulatorHost: fake.host });
    cleanups.push(() => publisher.close());
    const echo: MessageEcho = {
      v: 1,
      kind: 'echo',
      wamid: 'wamid.echo',
      phoneNumberId: '123',
      to: '5491100000001',
      toUserId: 'AR.1',
      timestamp: 1790000000,
      content: { kind: 'text', text: 'Hola, soy Ana' },
    };
    await Promise.all([publisher.publish(message('AR.1', 'wamid.a')), publisher.publishEcho(echo, { traceparent: 't' })]);
    expect(fake.received.map((r) => r.body.messages[0]!.attributes.wamid)).toEqual(['wamid.a', 'wamid.echo']);
    const sent = fake.received[1]!.body.messages[0]!;
    expect(sent.orderingKey).toBe('AR.1');
    expect(sent.attributes).toEqual({ traceparent: 't', kind: 'echo', wamid: 'wamid.echo', userId: 'AR.1', v: '1' });
    expect(JSON.parse(Buffer.from(sent.data, 'base64').toString())).toEqual(echo);
  });

  it('keeps one user’s publishes in call order while other users go in parallel', async () => {
    // The answer's delay is wide so a busy machine's scheduling cannot blur "waited" and "did not wait".
    const fake = await fakePubSub(() => ({ status: 200, delayMs: 200 }));
    cleanups.push(fake.close);
    const publisher = createRestPublisher({ projectId: 'p', topic: 't', timeoutMs: 5000, emulatorHost: fake.host });
    cleanups.push(() => publisher.close());

    await Promise.all([
      publisher.publish(message('u1', 'w1')),
      publisher.publish(message('u1', 'w2')),
      publisher.publish(message('u2', 'w3')),
      publisher.publish(message('u1', 'w4')),
    ]);
    const order = fake.received.map((r) => r.body.messages[0]!.attributes.wamid);
    expect(order.filter((w) => w !== 'w3')).toEqual(['w1', 'w2', 'w4']);
    const at = (wamid: string) => fake.received.find((r) => r.body.messages[0]!.attributes.wamid === wamid)!.at;
    // u1's second publish waited for the first answer; u2's did not wait for u1.
    expect(at('w2') - at('w1')).toBeGreaterThanOrEqual(190);
    expect(Math.abs(at('w3') - at('w1'))).toBeLessThan(150);
  });

  it('fails on a non-200 answer, and the user’s next publish still goes out', async () => {
    let fail = true;
    const fake = await fakePubSub(() => ({ status: fail ? 503 : 200 }));
    cleanups.push(fake.close);
    const publisher = createRestPublisher({ projectId: 'p', topic: 't', timeoutMs: 2000, emulatorHost: fake.host });
    cleanups.push(() => publisher.close());
    await expect(publisher.publish(message('u1', 'w1'))).rejects.toThrow(/answered 503/);
    fail = false;
    await expect(publisher.publish(message('u1', 'w2'))).resolves.toBe('1');
  });

  it('fails, unsent, what waits behind a failed publish of the same user, so Meta’s retry of the callback keeps the order', async () => {
    const wamidOf = (received: Received) => received.body.messages[0]!.attributes.wamid;
    let failed = false;
    // w1's first publish fails (a transient 503); everything else is accepted.
    const fake = await fakePubSub((received) => {
      const fail = !failed && wamidOf(received) === 'w1';
      failed ||= fail;
      return { status: fail ? 503 : 200, delayMs: 50 };
    });
    cleanups.push(fake.close);
    const publisher = createRestPublisher({ projectId: 'p', topic: 't', timeoutMs: 5000, emulatorHost: fake.host });
    cleanups.push(() => publisher.close());
    // One callback with two messages of u1 and one of u2, published as the webhook does (all at once).
    const callback = () => Promise.allSettled([message('u1', 'w1'), message('u1', 'w2'), message('u2', 'w3')].map((m) => publisher.publish(m)));
    const first = await callback();
    expect(first.map((result) => result.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    expect(first[1]).toMatchObject({ reason: { message: expect.stringMatching(/earlier publish of the same ordering key failed/) } });
    // The webhook answered 503: Meta sends the whole callback again.
    expect((await callback()).map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    // u1's publishes as Pub/Sub saw them: w2 never went out ahead of w1.
    expect(fake.received.map(wamidOf).filter((wamid) => wamid !== 'w3')).toEqual(['w1', 'w1', 'w2']);
  });

  it('gives up at the deadline', async () => {
    const fake = await fakePubSub(() => ({ status: 200, delayMs: 1000 }));
    cleanups.push(fake.close);
    const publisher = createRestPublisher({ projectId: 'p', topic: 't', timeoutMs: 150, emulatorHost: fake.host });
    cleanups.push(() => publisher.close());
    const started = Date.now();
    await expect(publisher.publish(message('u1', 'w1'))).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('counts the wait behind the same user’s earlier publish in the deadline', async () => {
    const fake = await fakePubSub(() => ({ status: 200, delayMs: 600 }));
    cleanups.push(fake.close);
    const publisher = createRestPublisher({ projectId: 'p', topic: 't', timeoutMs: 900, emulatorHost: fake.host });
    cleanups.push(() => publisher.close());
    // w2 leaves once w1 is answered (~600 ms) and would be answered at ~1200 ms: inside 900 ms of
    // its own sending, but past 900 ms from the call.
    const [first, second] = await Promise.allSettled([publisher.publish(message('u1', 'w1')), publisher.publish(message('u1', 'w2'))]);
    expect(first.status).toBe('fulfilled');
    expect(second).toMatchObject({ status: 'rejected', reason: { name: 'TimeoutError' } });
  });

  it('sends the service account’s bearer token to the real endpoint', async () => {
    const fake = await fakePubSub();
    cleanups.push(fake.close);
    const publisher = createRestPublisher({
      projectId: 'p',
      topic: 't',
      timeoutMs: 2000,
      endpoint: `http://${fake.host}`,
      getAccessToken: async () => 'ya29.test-token',
    });
    cleanups.push(() => publisher.close());
    await publisher.publish(message('u1', 'w1'));
    expect(fake.received[0]!.headers.authorization).toBe('Bearer ya29.test-token');
  });
});
