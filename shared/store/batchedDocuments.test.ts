import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, beforeEach, expect, inject, it } from 'vitest';
import { describeWithEmulators } from '../../test/integration/testStack.js';
import { readDocument, sentChunkGroup, writeConversationDocument, writeDocumentInGroup } from './batchedDocuments.js';
import { createFirestoreInboundLedger } from './firestoreInboundLedger.js';
import { createFirestoreOutboundMessageStore } from './firestoreOutboundMessageStore.js';

/** The documents each BatchGetDocuments RPC of `db` asked for, at the client's request funnel (as bench/countFirestore.js). */
function recordBatchGets(db: Firestore): string[][] {
  const batches: string[][] = [];
  const client = db as unknown as { requestStream: (method: string, bidi: boolean, request: { documents?: string[] }, ...rest: unknown[]) => unknown };
  const requestStream = client.requestStream.bind(db);
  client.requestStream = (method, bidi, request, ...rest) => {
    if (method === 'batchGetDocuments') batches.push((request.documents ?? []).map((name) => name.split('/documents/')[1]!));
    return requestStream(method, bidi, request, ...rest);
  };
  return batches;
}

/** The writes (document and kind) each Commit RPC of `db` carried. */
function recordCommits(db: Firestore): string[][] {
  const commits: string[][] = [];
  type Write = { update?: { name: string }; delete?: string; updateMask?: unknown };
  const client = db as unknown as { request: (method: string, request: { writes?: Write[] }, ...rest: unknown[]) => unknown };
  const request = client.request.bind(db);
  client.request = (method, body, ...rest) => {
    if (method === 'commit') {
      commits.push((body.writes ?? []).map((write) => `${write.updateMask ? 'update' : 'set'} ${(write.update?.name ?? write.delete ?? '').split('/documents/')[1]}`));
    }
    return request(method, body, ...rest);
  };
  return commits;
}

/**
 * A Firestore client of the describe block's own (its own project on the emulator): `setUp` gets
 * it once and returns the record of RPCs to empty before each test; the client closes after the block.
 */
function useRecordedFirestore(setUp: (db: Firestore) => Promise<string[][]>): void {
  let db: Firestore | undefined;
  let recorded: string[][] | undefined;
  beforeAll(async () => {
    const emulators = inject('emulators');
    if ('skipReason' in emulators) return;
    process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost;
    db = new Firestore({ projectId: `test-${randomUUID().slice(0, 8)}` });
    recorded = await setUp(db);
  });
  beforeEach(() => {
    recorded?.splice(0);
  });
  afterAll(async () => {
    await db?.terminate();
  });
}

describeWithEmulators('readDocument: single-document reads started together go out as one BatchGetDocuments (emulator)', () => {
  let db: Firestore;
  let batches: string[][];
  useRecordedFirestore(async (client) => {
    db = client;
    batches = recordBatchGets(db);
    await Promise.all([db.doc('sessions/u1').set({ n: 1 }), db.doc('opt_outs/u1').set({ n: 2 }), db.doc('handoffs/u2').set({ n: 3 })]);
    return batches;
  });

  it('reads three documents of three collections in one RPC, each caller getting its own snapshot, missing ones as not existing', async () => {
    const [session, optOut, held] = await Promise.all([
      readDocument(db.doc('sessions/u1')),
      readDocument(db.doc('opt_outs/u1')),
      readDocument(db.doc('held_replies/u1')),
    ]);
    expect(batches).toEqual([['sessions/u1', 'opt_outs/u1', 'held_replies/u1']]);
    expect([session.ref.path, session.exists, session.get('n')]).toEqual(['sessions/u1', true, 1]);
    expect([optOut.ref.path, optOut.exists, optOut.get('n')]).toEqual(['opt_outs/u1', true, 2]);
    expect([held.ref.path, held.exists, held.data()]).toEqual(['held_replies/u1', false, undefined]);
  });

  it('gathers reads started after awaiting settled promises, as an async store method does', async () => {
    const viaAsyncStore = async (path: string) => {
      await Promise.resolve();
      await undefined;
      return (await readDocument(db.doc(path))).get('n') as number | undefined;
    };
    const values = await Promise.all([viaAsyncStore('sessions/u1'), readDocument(db.doc('handoffs/u2')).then((s) => s.get('n') as number), viaAsyncStore('opt_outs/u1')]);
    expect(values).toEqual([1, 3, 2]);
    expect(batches).toEqual([['handoffs/u2', 'sessions/u1', 'opt_outs/u1']]);
  });

  it('answers the same document asked for twice in one batch to both callers', async () => {
    const [first, second] = await Promise.all([readDocument(db.doc('sessions/u1')), readDocument(db.doc('sessions/u1'))]);
    expect([first.get('n'), second.get('n')]).toEqual([1, 1]);
    expect(batches).toHaveLength(1);
  });

  it('sends reads of steps one after the other as separate RPCs, and sees what was written between them', async () => {
    const before = await readDocument(db.doc('sessions/u3'));
    await db.doc('sessions/u3').set({ n: 4 });
    const after = await readDocument(db.doc('sessions/u3'));
    expect([before.exists, after.get('n')]).toEqual([false, 4]);
    expect(batches).toEqual([['sessions/u3'], ['sessions/u3']]);
  });

  it('rejects every read of a batch whose RPC fails, with the RPC error, and the next batch works again', async () => {
    // Firestore refuses ids of the form __…__ (reserved): the whole BatchGetDocuments fails.
    const reads = [readDocument(db.doc('sessions/__reserved__')), readDocument(db.doc('sessions/u1'))];
    const outcomes = await Promise.allSettled(reads);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    const [first, second] = outcomes.map((outcome) => (outcome as PromiseRejectedResult).reason as { code?: number });
    expect(first).toBe(second);
    expect(first?.code).toBe(3); // INVALID_ARGUMENT
    expect((await readDocument(db.doc('sessions/u1'))).get('n')).toBe(1);
  });

  it('keeps the reads of two Firestore clients apart', async () => {
    const other = new Firestore({ projectId: `test-${randomUUID().slice(0, 8)}` });
    try {
      const otherBatches = recordBatchGets(other);
      const [mine, theirs] = await Promise.all([readDocument(db.doc('sessions/u1')), readDocument(other.doc('sessions/u1'))]);
      expect([mine.exists, theirs.exists]).toEqual([true, false]);
      expect([batches, otherBatches]).toEqual([[['sessions/u1']], [['sessions/u1']]]);
    } finally {
      await other.terminate();
    }
  });
});

describeWithEmulators('writeConversationDocument: a conversation\'s bookkeeping writes started together go out as one Commit (emulator)', () => {
  let db: Firestore;
  let commits: string[][];
  useRecordedFirestore(async (client) => {
    db = client;
    await db.doc('sessions/u1').set({ count: 1 });
    commits = recordCommits(db);
    return commits;
  });
  const ana = { phoneNumberId: 'pn1', userId: 'ana' };
  const bea = { phoneNumberId: 'pn1', userId: 'bea' };

  it('commits a set and an update of two stores in one RPC, each caller resolved', async () => {
    await Promise.all([
      writeConversationDocument(db, ana, (batch) => batch.set(db.doc('windows/u1'), { at: 1 })),
      writeConversationDocument(db, ana, (batch) => batch.update(db.doc('sessions/u1'), { count: 2 })),
    ]);
    expect(commits).toEqual([['set windows/u1', 'update sessions/u1']]);
    expect([(await db.doc('windows/u1').get()).get('at'), (await db.doc('sessions/u1').get()).get('count')]).toEqual([1, 2]);
  });

  it('fails every write of a commit together when one of them fails: nothing of it is written', async () => {
    const outcomes = await Promise.allSettled([
      writeConversationDocument(db, ana, (batch) => batch.set(db.doc('windows/u2'), { at: 2 })),
      writeConversationDocument(db, ana, (batch) => batch.update(db.doc('sessions/gone'), { count: 1 })),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ code: 5 }); // NOT_FOUND, the update's
    expect(commits).toHaveLength(1);
    expect((await db.doc('windows/u2').get()).exists).toBe(false);
  });

  it('never shares a commit with another conversation: one user\'s failing update leaves the other\'s writes written', async () => {
    const outcomes = await Promise.allSettled([
      writeConversationDocument(db, ana, (batch) => batch.update(db.doc('sessions/deleted-meanwhile'), { count: 1 })),
      writeConversationDocument(db, bea, (batch) => batch.set(db.doc('sessions/bea'), { count: 1 })),
      writeConversationDocument(db, bea, (batch) => batch.set(db.doc('windows/bea'), { at: 1 })),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(commits.map((commit) => commit.join(', ')).sort()).toEqual(['set sessions/bea, set windows/bea', 'update sessions/deleted-meanwhile']);
    expect((await db.doc('sessions/bea').get()).get('count')).toBe(1);
  });

  it('fails only the write the client refuses before sending, and commits the others', async () => {
    const outcomes = await Promise.allSettled([
      writeConversationDocument(db, ana, (batch) => batch.set(db.doc('windows/u3'), { at: 3 })),
      writeConversationDocument(db, ana, (batch) => batch.set(db.doc('windows/u4'), { at: undefined })),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected']);
    expect(commits).toEqual([['set windows/u3']]);
    expect((await db.doc('windows/u3').get()).get('at')).toBe(3);
  });

  it('sends writes of steps one after the other as separate commits', async () => {
    await writeConversationDocument(db, ana, (batch) => batch.set(db.doc('windows/u5'), { at: 5 }));
    await writeConversationDocument(db, ana, (batch) => batch.update(db.doc('windows/u5'), { at: 6 }));
    expect(commits).toEqual([['set windows/u5'], ['update windows/u5']]);
    expect((await db.doc('windows/u5').get()).get('at')).toBe(6);
  });
});

describeWithEmulators('writeDocumentInGroup: the writes of one group go out as one Commit, apart from everything else (emulator)', () => {
  let db: Firestore;
  let commits: string[][];
  useRecordedFirestore(async (client) => {
    db = client;
    commits = recordCommits(db);
    return commits;
  });

  it('commits each group’s writes together, and never with another group’s or a conversation\'s bookkeeping', async () => {
    await Promise.all([
      writeDocumentInGroup(db, 'a', (batch) => batch.set(db.doc('inbound/a'), { n: 1 })),
      writeConversationDocument(db, { phoneNumberId: 'pn1', userId: 'a' }, (batch) => batch.set(db.doc('windows/w'), { n: 2 })),
      writeDocumentInGroup(db, 'b', (batch) => batch.set(db.doc('inbound/b'), { n: 3 })),
      writeDocumentInGroup(db, 'a', (batch) => batch.set(db.doc('outbound/a'), { n: 4 })),
    ]);
    expect(commits.map((commit) => commit.join(', ')).sort()).toEqual(['set inbound/a, set outbound/a', 'set inbound/b', 'set windows/w']);
  });

  it('fails a group’s writes together, leaving the other groups written', async () => {
    const outcomes = await Promise.allSettled([
      writeDocumentInGroup(db, 'c', (batch) => batch.update(db.doc('inbound/gone'), { n: 1 })),
      writeDocumentInGroup(db, 'c', (batch) => batch.set(db.doc('outbound/c'), { n: 2 })),
      writeDocumentInGroup(db, 'd', (batch) => batch.set(db.doc('outbound/d'), { n: 3 })),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    expect([(await db.doc('outbound/c').get()).exists, (await db.doc('outbound/d').get()).get('n')]).toEqual([false, 3]);
  });

  it('records a sent reply chunk in the ledger and the outbound store in one Commit, as sendReply starts them', async () => {
    const ledger = createFirestoreInboundLedger(db);
    const outbound = createFirestoreOutboundMessageStore(db, 3600_000);
    const now = new Date();
    await ledger.claim({ wamid: 'wamid.in.1', userId: 'u1', now, leaseMs: 60_000, retentionMs: 3600_000 });
    commits.splice(0);
    await Promise.all([
      ledger.recordChunkSent('wamid.in.1', { index: 0, graphMessageId: 'wamid.out.1' }, true),
      outbound.recordSent({ wamid: 'wamid.out.1', phoneNumberId: 'pn1', userId: 'u1', kind: 'reply', inReplyTo: 'wamid.in.1', chunkIndex: 0, text: 'hola' }, now),
      // A proactive message (no turn) is not part of it.
      outbound.recordSent({ wamid: 'wamid.out.2', phoneNumberId: 'pn1', userId: 'u1', kind: 'proactive', text: 'aviso' }, now),
    ]);
    expect(commits.map((commit) => commit.join(', ')).sort()).toEqual([
      'update inbound_messages/wamid.in.1, update outbound_messages/wamid.out.1',
      'update outbound_messages/wamid.out.2',
    ]);
    expect(await ledger.get('wamid.in.1')).toMatchObject({ state: 'answered', sentChunks: [{ index: 0, graphMessageId: 'wamid.out.1' }] });
    expect(await outbound.get('wamid.out.1')).toMatchObject({ kind: 'reply', inReplyTo: 'wamid.in.1', text: 'hola' });
    expect(sentChunkGroup('wamid.in.1')).not.toBe(sentChunkGroup('wamid.in.2'));
  });
});
