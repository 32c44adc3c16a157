/**
 * The worker's floor (phase 3): the calls one message makes, through the same clients the worker
 * builds (Firestore, the agent's gRPC client, the Graph client over undici) with none of the
 * turn's own code: no functions-framework, no validation, decisions, rendering or logging. Per
 * message, in the worker's order and grouping (bench/results.md "Firestore operations per
 * message"): the claim's Commit beside a BatchGetDocuments of the conversation's 5 documents; the
 * read receipt beside the agent's stream query; the stored reply's Commit, the bookkeeping's
 * Commit and the hand-off's BatchGetDocuments together; the Graph send; the sent chunk's Commit.
 * With FLOOR_CALLS=firestore, the Firestore calls alone.
 *
 * Bundled and run by bench/pipeline.ts in its own process, at run B's rate, on the stack's
 * emulators, local agent and WhatsApp sandbox; prints one JSON line: its CPU per message.
 */
import { createVertexAgentClient } from '../shared/agent/vertexAgentClient.js';
import { resolveFirestoreFallbackOnce } from '../shared/store/firestoreFallbackResolution.js';
import { openFirestore } from '../shared/store/openFirestore.js';
import { createGraphClient } from '../shared/whatsapp/graphClient.js';

const setting = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`workerFloor: ${name} is not set`);
  return value;
};
const messages = Number(setting('FLOOR_MESSAGES'));
const users = Number(setting('FLOOR_USERS'));
const rate = Number(setting('FLOOR_RATE'));
const phoneNumberId = setting('FLOOR_PHONE_NUMBER_ID');
/** `firestore`: the Firestore calls alone, the agent's and Graph's left out. */
const firestoreOnly = setting('FLOOR_CALLS') === 'firestore';

resolveFirestoreFallbackOnce();
const db = openFirestore(setting('GOOGLE_CLOUD_PROJECT'));
const agent = createVertexAgentClient({ engine: setting('AGENT_ENGINE'), apiEndpoint: setting('VERTEX_API_ENDPOINT'), timeoutMs: 30_000 });
const graph = createGraphClient({ baseUrl: setting('GRAPH_API_BASE_URL'), apiVersion: 'v23.0', accessToken: setting('FLOOR_ACCESS_TOKEN'), timeoutMs: 10_000 });

const run = `floor${process.pid}`;
const userIds = Array.from({ length: users }, (_, index) => `1555${process.pid}${String(index).padStart(4, '0')}`);
const sessions = await Promise.all(userIds.map((userId) => agent.createSession(userId)));
const expiresAt = new Date(Date.now() + 86_400_000);

async function oneMessage(index: number): Promise<void> {
  const user = index % users;
  const userId = userIds[user]!;
  const key = `${phoneNumberId}:${userId}`;
  const wamid = `wamid.${run}.${index}`;
  const to = { phone: userId, userId };
  const inbound = db.doc(`inbound_messages/${wamid}`);
  const now = new Date();
  await Promise.all([
    inbound.create({ wamid, userId, phoneNumberId, state: 'processing', attempts: 1, leaseUntil: now, receivedAt: now, expiresAt }),
    db.getAll(...['opt_outs', 'held_replies', 'handoffs', 'whatsapp_sessions', 'rate_limits'].map((collection) => db.doc(`${collection}/${key}`))),
  ]);
  const [, parts] = firestoreOnly
    ? []
    : await Promise.all([graph.markReadWithTyping(phoneNumberId, wamid), agent.query({ userId, sessionId: sessions[user]!, text: `floor ${index}` })]);
  const text = parts?.map((part) => (part.kind === 'text' ? part.text : '')).join('') || `floor ${index}`;
  await Promise.all([
    inbound.update({ reply: { chunks: [{ kind: 'message', message: { type: 'text', text: { body: text } } }] }, updatedAt: now }),
    db
      .batch()
      .set(db.doc(`rate_limits/${key}`), { windowStart: now, count: 1, wamids: [wamid], expiresAt })
      .set(db.doc(`whatsapp_sessions/${key}`), { lastMessageAt: now, expiresAt, agentSessionId: sessions[user] }, { merge: true })
      .set(db.doc(`conversation_windows/${key}`), { phoneNumberId, userId, phone: userId, lastUserMessageAt: now })
      .commit(),
    db.getAll(db.doc(`handoffs/${key}`)),
  ]);
  const sent = firestoreOnly ? `${wamid}.reply` : await graph.sendText({ phoneNumberId, to, text });
  await db
    .batch()
    .update(inbound, { state: 'answered', sentMessageIds: [sent], answeredAt: new Date() })
    .set(db.doc(`outbound_messages/${sent}`), { wamid: sent, inboundWamid: wamid, phoneNumberId, userId, sentAt: new Date(), expiresAt })
    .commit();
}

// Warm the clients and the code paths, then measure at the fixed rate.
for (let index = 0; index < Math.min(300, messages); index++) await oneMessage(messages + index);
const before = process.cpuUsage();
const started = performance.now();
const inFlight: Promise<void>[] = [];
for (let index = 0; index < messages; index++) {
  inFlight.push(oneMessage(index));
  await new Promise((resolve) => setTimeout(resolve, started + ((index + 1) * 1000) / rate - performance.now()));
}
await Promise.all(inFlight);
const used = process.cpuUsage(before);
console.log(JSON.stringify({ messages, rate, calls: firestoreOnly ? 'firestore' : 'all', cpuMsPerMessage: (used.user + used.system) / 1000 / messages, wallMs: performance.now() - started }));
await Promise.all([agent.close(), db.terminate()]);
process.exit(0);
