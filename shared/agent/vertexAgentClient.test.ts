import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalAgent, type LocalAgent } from '../../local/agent/localAgent.js';
import { startCloudStorageStandIn, type CloudStorageStandIn } from '../../local/storage/cloudStorageStandIn.js';
import { PermanentError, RetryableError } from '../errors.js';
import { createCloudStorageBucket } from '../media/cloudStorageBucket.js';
import { SessionNotFoundError } from './agentClient.js';
import { createVertexAgentClient } from './vertexAgentClient.js';

const textReply = (text: string) => [{ kind: 'text', text }];

/** The real client against a real gRPC server speaking aiplatform v1: the contract the worker relies on. */
describe('createVertexAgentClient against the local agent', () => {
  let agent: LocalAgent;
  let client: ReturnType<typeof createVertexAgentClient>;

  let storage: CloudStorageStandIn;

  beforeAll(async () => {
    storage = await startCloudStorageStandIn({ buckets: ['media-bucket'] });
    agent = await startLocalAgent({ storageEndpoint: storage.url });
    client = createVertexAgentClient({ engine: agent.engine, apiEndpoint: agent.endpoint, timeoutMs: 2_000 });
  });

  afterAll(async () => {
    await client.close();
    await agent.close();
    await storage.close();
  });

  beforeEach(() => agent.reset());

  it('creates a session and runs turns in it, sending a real Struct', async () => {
    const sessionId = await client.createSession('wa-15550001111');
    expect(sessionId).toMatch(/^\d{19}$/);
    expect(agent.sessions.get(sessionId)?.userId).toBe('wa-15550001111');

    await expect(client.query({ userId: 'wa-15550001111', sessionId, text: 'hello' })).resolves.toEqual(textReply('Echo #1: hello'));
    await expect(client.query({ userId: 'wa-15550001111', sessionId, text: 'again' })).resolves.toEqual(textReply('Echo #2: again'));

    expect(agent.calls).toHaveLength(2);
    expect(agent.calls[0]).toMatchObject({ userId: 'wa-15550001111', sessionId, text: 'hello', inlineData: [] });
    expect(agent.calls[0]?.input).toEqual({ user_id: 'wa-15550001111', session_id: sessionId, message: 'hello' });
  });

  it('reads the reply from lines split across chunks and multibyte characters', async () => {
    const sessionId = await client.createSession('wa-2');
    agent.chunkBytes = 7;
    agent.reply(() => 'Olá 👋🏽 — 你好');
    await expect(client.query({ userId: 'wa-2', sessionId, text: 'hi' })).resolves.toEqual(textReply('Olá 👋🏽 — 你好'));
  });

  it('cuts a reply longer than maxReplyChars, ending it in …', async () => {
    const capped = createVertexAgentClient({ engine: agent.engine, apiEndpoint: agent.endpoint, timeoutMs: 5_000, maxReplyChars: 1000 });
    try {
      const sessionId = await capped.createSession('wa-long');
      agent.reply(() => 'palabra '.repeat(100_000));
      const [part, ...more] = await capped.query({ userId: 'wa-long', sessionId, text: 'cuéntamelo todo' });
      expect(more).toEqual([]);
      const reply = part?.kind === 'text' ? part.text : '';
      expect(reply.length).toBeLessThanOrEqual(1000);
      expect(reply).toMatch(/^palabra palabra .*palabra…$/);
    } finally {
      await capped.close();
    }
  });

  it('returns the Markdown answer when asked for markdown', async () => {
    const sessionId = await client.createSession('wa-md');
    const [reply] = await client.query({ userId: 'wa-md', sessionId, text: 'show me some markdown please' });
    const markdown = reply?.kind === 'text' ? reply.text : '';
    expect(markdown).toContain('## Before you go');
    expect(markdown).toContain('```bash');
    expect(markdown).toContain('| Item | Price | Notes |');
  });

  it('sends inline data as a Content dict the agent can read', async () => {
    const sessionId = await client.createSession('wa-3');
    const image = Buffer.alloc(1234, 7);
    const reply = await client.query({
      userId: 'wa-3',
      sessionId,
      text: 'what is this?',
      media: [{ kind: 'inline', mimeType: 'image/jpeg', data: image }],
    });
    expect(reply).toEqual(textReply('Echo #1: what is this? [+ image/jpeg, 1234 bytes]'));
    expect(agent.calls[0]).toMatchObject({ text: 'what is this?', inlineData: [{ mimeType: 'image/jpeg', bytes: 1234 }] });
    expect(agent.calls[0]?.input.message).toEqual({
      role: 'user',
      parts: [{ inline_data: { mime_type: 'image/jpeg', data: image.toString('base64') } }, { text: 'what is this?' }],
    });
  });

  it('sends a stored object as a file_data part; the agent reads the same bytes back from Cloud Storage', async () => {
    const bytes = Buffer.from('%PDF-1.4 invoice 42');
    const bucket = createCloudStorageBucket({ bucket: 'media-bucket', emulatorHost: storage.url, timeoutMs: 2000 });
    await bucket.write('inbound/doc', Readable.from([bytes]), { contentType: 'application/pdf' });
    const sessionId = await client.createSession('wa-file');
    const reply = await client.query({
      userId: 'wa-file',
      sessionId,
      text: 'invoice.pdf',
      media: [{ kind: 'file', fileUri: 'gs://media-bucket/inbound/doc', mimeType: 'application/pdf' }],
    });
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect(reply).toEqual(textReply(`Echo #1: invoice.pdf [+ application/pdf from gs://media-bucket/inbound/doc: ${bytes.length} bytes, sha256 ${sha256}]`));
    expect(agent.calls[0]?.input.message).toEqual({
      role: 'user',
      parts: [{ file_data: { file_uri: 'gs://media-bucket/inbound/doc', mime_type: 'application/pdf' } }, { text: 'invoice.pdf' }],
    });
  });

  it('fails permanently when the agent cannot read the gs:// object (as Gemini refuses it)', async () => {
    const sessionId = await client.createSession('wa-nofile');
    const error = await client
      .query({ userId: 'wa-nofile', sessionId, text: '', media: [{ kind: 'file', fileUri: 'gs://media-bucket/inbound/none', mimeType: 'image/jpeg' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
  });

  it('leaves out an empty text part when only media is sent', async () => {
    const sessionId = await client.createSession('wa-4');
    await client.query({ userId: 'wa-4', sessionId, text: '', media: [{ kind: 'inline', mimeType: 'audio/ogg', data: Buffer.alloc(10) }] });
    expect(agent.calls[0]?.input.message).toEqual({
      role: 'user',
      parts: [{ inline_data: { mime_type: 'audio/ogg', data: Buffer.alloc(10).toString('base64') } }],
    });
  });

  it('returns text and WhatsApp tool calls in stream order, leaving out the agent’s other tools', async () => {
    const sessionId = await client.createSession('wa-order');
    agent.chunkBytes = 5;
    agent.reply(() => [
      { text: 'Here are our sizes.' },
      { call: 'whatsapp_buttons', args: { text: 'Which one?', options: ['S', { id: 'm', title: 'M' }] } },
      { call: 'lookup_stock', args: { sku: 'tee' } },
      { text: 'And our shop:' },
      { call: 'whatsapp_location', args: { latitude: -34.6, longitude: -58.38 } },
      { call: 'handoff_to_human', args: { reason: 'wants a refund' } },
    ]);
    await expect(client.query({ userId: 'wa-order', sessionId, text: 'sizes?' })).resolves.toEqual([
      { kind: 'text', text: 'Here are our sizes.' },
      { kind: 'tool_call', name: 'whatsapp_buttons', args: { text: 'Which one?', options: ['S', { id: 'm', title: 'M' }] } },
      { kind: 'text', text: 'And our shop:' },
      { kind: 'tool_call', name: 'whatsapp_location', args: { latitude: -34.6, longitude: -58.38 } },
      { kind: 'tool_call', name: 'handoff_to_human', args: { reason: 'wants a refund' } },
    ]);
  });

  it('answers with tool calls alone when the agent said nothing else', async () => {
    const sessionId = await client.createSession('wa-only-call');
    agent.reply(() => [{ call: 'whatsapp_link', args: { text: 'Pay', url: 'https://x.test', label: 'Pay' } }]);
    await expect(client.query({ userId: 'wa-only-call', sessionId, text: 'pay' })).resolves.toEqual([
      { kind: 'tool_call', name: 'whatsapp_link', args: { text: 'Pay', url: 'https://x.test', label: 'Pay' } },
    ]);
  });

  it('maps an unknown session to SessionNotFoundError', async () => {
    await expect(client.query({ userId: 'wa-5', sessionId: '1234567890123456789', text: 'hi' })).rejects.toBeInstanceOf(
      SessionNotFoundError,
    );
  });

  it("maps another user's session to SessionNotFoundError", async () => {
    const sessionId = await client.createSession('wa-owner');
    await expect(client.query({ userId: 'wa-intruder', sessionId, text: 'hi' })).rejects.toBeInstanceOf(SessionNotFoundError);
  });

  it('does not re-send a stream that failed before its first chunk', async () => {
    const sessionId = await client.createSession('wa-6');
    agent.failNext(1, status.UNAVAILABLE);
    const error = await client.query({ userId: 'wa-6', sessionId, text: 'hi' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ reason: 'agent_unavailable' });
    expect(agent.calls).toHaveLength(1);
    expect(agent.calls[0]?.failedWith).toBe(status.UNAVAILABLE);
  });

  it.each([
    [status.INTERNAL, 'agent_grpc_13'],
    [status.RESOURCE_EXHAUSTED, 'agent_rate_limited'],
    [status.ABORTED, 'agent_grpc_10'],
  ])('maps gRPC %i to RetryableError %s, once', async (code, reason) => {
    const sessionId = await client.createSession('wa-7');
    agent.failNext(1, code);
    await expect(client.query({ userId: 'wa-7', sessionId, text: 'hi' })).rejects.toMatchObject({
      name: 'RetryableError',
      reason,
    });
    expect(agent.calls).toHaveLength(1);
  });

  it.each([
    [status.INVALID_ARGUMENT, 'agent_grpc_3'],
    [status.PERMISSION_DENIED, 'agent_grpc_7'],
    [status.FAILED_PRECONDITION, 'agent_grpc_9'],
  ])('maps gRPC %i to PermanentError %s', async (code, reason) => {
    const sessionId = await client.createSession('wa-8');
    agent.failNext(1, code);
    const error = await client.query({ userId: 'wa-8', sessionId, text: 'hi' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ reason });
  });

  it('maps a turn slower than timeoutMs to RetryableError, without a re-send', async () => {
    const sessionId = await client.createSession('wa-9');
    const quick = createVertexAgentClient({ engine: agent.engine, apiEndpoint: agent.endpoint, timeoutMs: 200 });
    agent.latencyMs = 5_000;
    const started = Date.now();
    try {
      await expect(quick.query({ userId: 'wa-9', sessionId, text: 'slow' })).rejects.toMatchObject({
        name: 'RetryableError',
        reason: 'agent_timeout',
      });
    } finally {
      await quick.close();
    }
    // Well before the agent's answer: the deadline, not the agent, ended the call (room for a loaded machine).
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(agent.calls).toHaveLength(1);
  });

  it('maps a reply with no text to RetryableError', async () => {
    const sessionId = await client.createSession('wa-10');
    agent.reply(() => '');
    await expect(client.query({ userId: 'wa-10', sessionId, text: 'hi' })).rejects.toMatchObject({
      name: 'RetryableError',
      message: expect.stringContaining('agent returned no text'),
    });
  });

  it('fails every call for one user with failWhen', async () => {
    agent.failWhen((request) => request.userId === 'wa-blocked', status.UNAVAILABLE);
    await expect(client.createSession('wa-blocked')).rejects.toBeInstanceOf(RetryableError);
    const sessionId = await client.createSession('wa-fine');
    await expect(client.query({ userId: 'wa-fine', sessionId, text: 'hi' })).resolves.toEqual(textReply('Echo #1: hi'));
  });

  it('maps a missing engine on createSession to PermanentError', async () => {
    const wrong = createVertexAgentClient({
      engine: 'projects/local-project/locations/us-central1/reasoningEngines/missing',
      apiEndpoint: agent.endpoint,
      timeoutMs: 2_000,
    });
    try {
      await expect(wrong.createSession('wa-11')).rejects.toMatchObject({ name: 'PermanentError', reason: 'agent_grpc_5' });
    } finally {
      await wrong.close();
    }
  });

  it('deletes a session, and deleting it again is not an error', async () => {
    const sessionId = await client.createSession('wa-12');
    await client.deleteSession('wa-12', sessionId);
    expect(agent.sessions.has(sessionId)).toBe(false);
    await expect(client.deleteSession('wa-12', sessionId)).resolves.toBeUndefined();
    await expect(client.query({ userId: 'wa-12', sessionId, text: 'hi' })).rejects.toBeInstanceOf(SessionNotFoundError);
  });

  it('starts a new session at turn 1', async () => {
    const first = await client.createSession('wa-13');
    await client.query({ userId: 'wa-13', sessionId: first, text: 'a' });
    const second = await client.createSession('wa-13');
    expect(second).not.toBe(first);
    await expect(client.query({ userId: 'wa-13', sessionId: second, text: 'b' })).resolves.toEqual(textReply('Echo #1: b'));
  });

  it('rejects an engine name that is not a reasoning engine', () => {
    expect(() => createVertexAgentClient({ engine: 'local-agent', timeoutMs: 1_000 })).toThrow(/reasoningEngines/);
  });
});
