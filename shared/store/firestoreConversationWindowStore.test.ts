import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { describeWithEmulators } from '../../test/integration/testStack.js';
import type { ConversationWindowStore } from './conversationWindowStore.js';
import { createFirestoreConversationWindowStore } from './firestoreConversationWindowStore.js';

const t0 = Date.parse('2026-12-05T10:00:00Z');
const at = (minutes: number) => new Date(t0 + minutes * 60_000);

describeWithEmulators('Firestore conversation windows (emulator)', () => {
  let db: Firestore;
  let store: ConversationWindowStore;
  beforeAll(() => {
    const emulators = inject('emulators');
    if ('skipReason' in emulators) return;
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost;
    db = new Firestore({ projectId: `test-${randomUUID().slice(0, 8)}`, ignoreUndefinedProperties: true });
    store = createFirestoreConversationWindowStore(db);
  });
  afterAll(async () => {
    await db?.terminate();
  });

  it('finds the number a user last wrote to, by BSUID or phone, or that number\'s window when one is named', async () => {
    const userId = `US.${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const phone = `549115${Math.floor(Math.random() * 1e7)}`;
    await store.noteUserMessage({ phoneNumberId: 'pnA', userId, phone, lastUserMessageAt: at(0) });
    await store.noteUserMessage({ phoneNumberId: 'pnB', userId, phone, lastUserMessageAt: at(5) });

    expect(await store.latest(phone)).toEqual({ phoneNumberId: 'pnB', userId, phone, lastUserMessageAt: at(5) });
    expect(await store.latest(userId)).toMatchObject({ phoneNumberId: 'pnB' });
    expect(await store.latest(phone, 'pnA')).toEqual({ phoneNumberId: 'pnA', userId, phone, lastUserMessageAt: at(0) });
    expect(await store.latest(phone, 'pnC')).toBeUndefined();
    expect(await store.latest(`${phone}0`)).toBeUndefined();
  });
});
