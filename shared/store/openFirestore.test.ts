import { randomUUID } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
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

  it('completes one read and leaves nothing behind', async () => {
    await expect(warmUpFirestore(db)).resolves.toBeUndefined();
    expect((await db.listCollections()).map((collection) => collection.id)).toEqual([]);
  });
});
