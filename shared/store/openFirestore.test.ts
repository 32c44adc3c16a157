import { randomUUID } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, inject, it, vi } from 'vitest';
import { describeWithEmulators } from '../../test/integration/testStack.js';
import { openFirestore, warmUpFirestore } from './openFirestore.js';

describeWithEmulators('warmUpFirestore (emulator)', () => {
  let db: Firestore;
  beforeAll(() => {
    const emulators = inject('emulators');
    if ('skipReason' in emulators) return;
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost;
    db = openFirestore(`test-${randomUUID().slice(0, 8)}`);
  });
  afterAll(async () => {
    await db?.terminate();
  });

  it("makes the claim's two kinds of RPC, a transaction's read and its commit, and leaves nothing behind", async () => {
    // The client's request funnels (the bench's Firestore counter wraps the same two).
    const client = db as unknown as Record<'request' | 'requestStream', (method: string, ...rest: unknown[]) => unknown>;
    const unary = vi.spyOn(client, 'request');
    const streamed = vi.spyOn(client, 'requestStream');

    await expect(warmUpFirestore(db)).resolves.toBeUndefined();

    expect(streamed.mock.calls.map(([method]) => method)).toEqual(['batchGetDocuments']);
    expect(streamed.mock.calls[0]?.[2]).toMatchObject({ newTransaction: { readWrite: {} } });
    expect(unary.mock.calls.map(([method]) => method)).toEqual(['commit']);
    expect(unary.mock.calls[0]?.[1]).toMatchObject({ writes: [], transaction: expect.anything() });
    expect((await db.listCollections()).map((collection) => collection.id)).toEqual([]);
  });
});
