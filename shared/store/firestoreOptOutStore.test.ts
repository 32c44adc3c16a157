import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { describeWithEmulators } from '../../test/integration/testStack.js';
import { createFirestoreOptOutStore } from './firestoreOptOutStore.js';
import type { OptOutStore } from './optOutStore.js';

describeWithEmulators('Firestore opt-outs (emulator)', () => {
  let db: Firestore;
  let store: OptOutStore;
  beforeAll(() => {
    const emulators = inject('emulators');
    if ('skipReason' in emulators) return;
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost;
    db = new Firestore({ projectId: `test-${randomUUID().slice(0, 8)}`, ignoreUndefinedProperties: true });
    store = createFirestoreOptOutStore(db);
  });
  afterAll(async () => {
    await db?.terminate();
  });

  it('finds an opt-out by the user\'s id, or by phone whichever id it was recorded under, on its number only', async () => {
    const userId = `US.${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const phone = `549115${Math.floor(Math.random() * 1e7)}`;
    const optedOutAt = new Date('2026-12-05T10:00:00Z');
    await store.optOut({ phoneNumberId: 'pnA', userId, phone, command: 'STOP', optedOutAt });

    expect(await store.get('pnA', userId)).toEqual({ phoneNumberId: 'pnA', userId, phone, command: 'STOP', optedOutAt });
    expect(await store.get('pnA', phone)).toBeUndefined();
    expect(await store.getByPhone('pnA', phone)).toMatchObject({ userId });
    expect(await store.getByPhone('pnB', phone)).toBeUndefined();
    await store.optIn('pnA', userId);
    expect(await store.getByPhone('pnA', phone)).toBeUndefined();
  });
});
