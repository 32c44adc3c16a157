import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import type { Request, Response } from '@google-cloud/functions-framework';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { createFirestoreOutboundMessageStore } from '../../../shared/store/firestoreOutboundMessageStore.js';
import { describeWithEmulators } from '../../../test/integration/testStack.js';
import { createMessageRoutes } from './messageRoutes.js';

async function call(routes: ReturnType<typeof createMessageRoutes>, path: string) {
  const req = { method: 'GET', path, query: {}, get: () => undefined } as unknown as Request;
  const answer: { status: number; body: unknown } = { status: 0, body: undefined };
  const res = {
    status(code: number) {
      answer.status = code;
      return res;
    },
    set: () => res,
    json(body: unknown) {
      answer.body = body;
      return res;
    },
  } as unknown as Response;
  try {
    await routes(req, res);
  } catch (error) {
    // What answerFailuresPlainly turns into a bare 500.
    return { status: 500, body: String(error).slice(0, 160) };
  }
  return answer;
}

describeWithEmulators('GET /whatsapp/messages/{wamid} over the Firestore store (emulator)', () => {
  let db: Firestore;
  beforeAll(() => {
    const emulators = inject('emulators');
    if ('skipReason' in emulators) return;
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost;
    db = new Firestore({ projectId: `test-${randomUUID().slice(0, 8)}`, ignoreUndefinedProperties: true });
  });
  afterAll(async () => {
    await db?.terminate();
  });

  it('answers 404 (no such message), not 500, for an id Firestore cannot hold: __…__, .., over 1500 bytes', async () => {
    const routes = createMessageRoutes({ outbound: createFirestoreOutboundMessageStore(db, 86_400_000) });
    for (const wamid of ['__x__', '..', '.', 'w'.repeat(1501)]) {
      const answer = await call(routes, `/whatsapp/messages/${wamid}`);
      expect(answer, wamid.slice(0, 12)).toEqual({ status: 404, body: { error: 'no message with this wamid was sent by the bridge' } });
    }
  });
});
