import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startWhatsAppSandbox, type WhatsAppSandbox } from '../../local/sandbox/whatsappSandbox.js';
import { PermanentError, RetryableError } from '../errors.js';
import { createGraphClient, type WhatsAppClient } from './graphClient.js';
import { graphError, OUTSIDE_CUSTOMER_SERVICE_WINDOW } from './graphErrors.js';
import { renderReply } from './rendering/renderReply.js';

describe('createGraphClient against the Graph API sandbox', () => {
  let sandbox: WhatsAppSandbox;
  let client: WhatsAppClient;
  beforeAll(async () => {
    sandbox = await startWhatsAppSandbox({ accessToken: 'token-1', graphApiVersion: 'v25.0' });
    client = createGraphClient({ baseUrl: sandbox.url, apiVersion: 'v25.0', accessToken: 'token-1', timeoutMs: 5000 });
  });
  afterAll(async () => {
    await sandbox.close();
  });
  beforeEach(() => sandbox.reset());

  it('sends text to a phone number and returns the Graph message id', async () => {
    const id = await client.sendText({ phoneNumberId: '123', to: { phone: '5491155550001', userId: 'AR.1' }, text: 'Hola' });
    const [sent] = sandbox.sent();
    expect(sent).toMatchObject({ id, to: '+5491155550001', type: 'text', text: 'Hola' });
  });

  it('sends to a BSUID through `recipient` when there is no phone number', async () => {
    await client.sendText({ phoneNumberId: '123', to: { userId: 'US.90817263544536271809' }, text: 'Hi' });
    expect(sandbox.sent()[0]?.to).toBe('US.90817263544536271809');
  });

  it('marks read with the typing indicator in one call', async () => {
    await client.markReadWithTyping('123', 'wamid.in');
    expect(sandbox.reads()).toMatchObject([{ messageId: 'wamid.in', typing: true }]);
  });

  it.each([
    [500, 131000, RetryableError, 'graph_131000'],
    [429, 130429, RetryableError, 'graph_130429'],
    [401, 190, PermanentError, 'graph_190'],
    [400, 131047, PermanentError, OUTSIDE_CUSTOMER_SERVICE_WINDOW],
    [400, 131026, PermanentError, 'graph_131026'],
  ])('classifies HTTP %i code %i by the error code', async (status, code, kind, reason) => {
    sandbox.failNext({ status, code, only: 'send' });
    const error = await client.sendText({ phoneNumberId: '123', to: { phone: '1', userId: '1' }, text: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(kind);
    expect((error as RetryableError).reason).toBe(reason);
    expect((error as RetryableError).fields).toMatchObject({ graphErrorCode: code });
  });

  it('passes Retry-After on as a wait hint', async () => {
    sandbox.failNext({ status: 429, code: 130429, retryAfterSeconds: 3, only: 'send' });
    const error = await client.sendText({ phoneNumberId: '123', to: { phone: '1', userId: '1' }, text: 'x' }).catch((e: unknown) => e);
    expect((error as RetryableError).retryAfterMs).toBe(3000);
  });

  it('is refused with code 190 under a wrong token', async () => {
    const wrong = createGraphClient({ baseUrl: sandbox.url, apiVersion: 'v25.0', accessToken: 'nope', timeoutMs: 5000 });
    await expect(wrong.markReadWithTyping('123', 'w')).rejects.toMatchObject({ reason: 'graph_190' });
  });

  it('downloads media through the short-lived URL with the token', async () => {
    const bytes = Buffer.from('a small picture');
    const mediaId = sandbox.addMedia(bytes, 'image/png');
    expect(await client.downloadMedia(mediaId, 1024)).toEqual({ data: bytes, mimeType: 'image/png' });
  });

  it('refuses media over the size limit', async () => {
    const mediaId = sandbox.addMedia(Buffer.alloc(2048), 'image/jpeg');
    await expect(client.downloadMedia(mediaId, 1024)).rejects.toMatchObject({ reason: 'media_too_large' });
  });

  it('sends every kind of rendered message as the Graph API takes it', async () => {
    const to = { phone: '5491155550001', userId: 'AR.1' };
    const rendered = renderReply(
      [
        { kind: 'tool_call', name: 'whatsapp_buttons', args: { text: 'Size?', options: ['S', 'M', 'L'], header: 'Shirts' } },
        { kind: 'tool_call', name: 'whatsapp_buttons', args: { text: 'Day?', options: ['Mon', 'Tue', 'Wed', 'Thu'], button: 'Days' } },
        { kind: 'tool_call', name: 'whatsapp_link', args: { text: 'Pay here', url: 'https://pay.example.com/1', label: 'Pay' } },
        { kind: 'tool_call', name: 'whatsapp_media', args: { url: 'https://example.com/menu.pdf', type: 'document', filename: 'menu.pdf' } },
        { kind: 'tool_call', name: 'whatsapp_location', args: { latitude: -34.6, longitude: -58.38, name: 'Shop' } },
      ],
      { maxTextChars: 4096 },
    );
    const messages = rendered.chunks.flatMap((chunk) => (chunk.kind === 'message' ? [chunk.message] : []));
    const ids = [];
    for (const message of messages) ids.push(await client.send({ phoneNumberId: '123', to, message, replyTo: 'wamid.in' }));

    const sent = sandbox.sent();
    expect(sent.map((m) => m.id)).toEqual(ids);
    expect(sent.map((m) => m.type)).toEqual(['interactive', 'interactive', 'interactive', 'document', 'location']);
    expect(sent.map((m) => m.body)).toEqual(
      messages.map((message) => ({
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: '+5491155550001',
        ...message,
        context: { message_id: 'wamid.in' },
      })),
    );
  });

  it('is refused with code 100 for a payload Meta would refuse', async () => {
    const fourButtons = ['a', 'b', 'c', 'd'].map((id) => ({ type: 'reply' as const, reply: { id, title: id } }));
    const error = await client
      .send({
        phoneNumberId: '123',
        to: { phone: '1', userId: '1' },
        message: { type: 'interactive', interactive: { type: 'button', body: { text: 'x' }, action: { buttons: fourButtons } } },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).reason).toBe('graph_100');
    expect(sandbox.sent()).toEqual([]);
  });

  it('never sends the token to a download URL off Meta\'s hosts that the media metadata names', async () => {
    // A Graph API whose metadata points elsewhere (a compromised or mistaken answer), and the
    // "elsewhere", which records what reaches it.
    const reached: (string | undefined)[] = [];
    const elsewhere = createServer((req, res) => {
      reached.push(req.headers.authorization);
      res.end('bytes');
    });
    const graph = createServer((req, res) => {
      const { port } = elsewhere.address() as AddressInfo;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ messaging_product: 'whatsapp', id: '1', mime_type: 'image/png', file_size: 5, url: `http://127.0.0.1:${port}/steal` }));
    });
    await Promise.all([elsewhere, graph].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
    try {
      const graphUrl = `http://127.0.0.1:${(graph.address() as AddressInfo).port}`;
      const redirected = createGraphClient({ baseUrl: graphUrl, apiVersion: 'v25.0', accessToken: 'secret-token', timeoutMs: 5000 });
      const failure = redirected.downloadMedia('1', 1024);
      await expect(failure).rejects.toBeInstanceOf(PermanentError);
      await expect(failure).rejects.toMatchObject({ reason: 'media_url_untrusted' });
      // The metadata alone is harmless (a file only described to the agent needs no download);
      // the refusal comes where the token would go.
      const info = await redirected.mediaInfo('1');
      expect(info).toMatchObject({ mimeType: 'image/png', url: expect.stringMatching(/\/steal$/) });
      await expect(redirected.openMedia(info, 1024)).rejects.toMatchObject({ reason: 'media_url_untrusted' });
      expect(reached).toEqual([]);
    } finally {
      await Promise.all([elsewhere, graph].map((server) => new Promise((resolve) => server.close(resolve))));
    }
  });

  it('treats an unreachable Graph API as retryable', async () => {
    const down = createGraphClient({ baseUrl: 'http://127.0.0.1:9', apiVersion: 'v25.0', accessToken: 't', timeoutMs: 2000 });
    await expect(down.markReadWithTyping('1', 'w')).rejects.toMatchObject({ reason: 'graph_network' });
  });

  it.each([
    ['never answers', false],
    ['sends its headers, then stalls the body', true],
  ])('gives up at its timeout on a Graph API that %s, as retryable', async (_case, sendsHeaders) => {
    const stalled = createServer((req, res) => {
      req.resume();
      if (sendsHeaders) res.writeHead(200, { 'content-type': 'application/json' }).write('{"messages":');
    });
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = stalled.address() as AddressInfo;
      const slow = createGraphClient({ baseUrl: `http://127.0.0.1:${port}`, apiVersion: 'v25.0', accessToken: 't', timeoutMs: 300 });
      const started = performance.now();
      await expect(slow.sendText({ phoneNumberId: '1', to: { userId: 'u', phone: '5491155550001' }, text: 'hi' })).rejects.toMatchObject({
        reason: 'graph_network',
        cause: { name: 'TimeoutError' },
      });
      expect(performance.now() - started).toBeLessThan(3000);
    } finally {
      stalled.closeAllConnections();
      await new Promise((resolve) => stalled.close(resolve));
    }
  });
});

describe('graphError', () => {
  it.each([
    [503, undefined, true, 'graph_http_503'],
    [400, undefined, false, 'graph_http_400'],
    [400, 2, true, 'graph_2'],
    [403, 368, false, 'graph_368'],
    [429, 131056, true, 'graph_131056'],
    [500, 100, false, 'graph_100'],
  ])('HTTP %i with code %s → retryable %s (%s)', (status, code, retryable, reason) => {
    const error = graphError(status, code === undefined ? undefined : { error: { code } });
    expect(error instanceof RetryableError).toBe(retryable);
    expect(error instanceof PermanentError).toBe(!retryable);
    expect((error as RetryableError).reason).toBe(reason);
  });

  it('waits at least 6 s before trying the same user again after 131056', () => {
    expect((graphError(429, { error: { code: 131056 } }) as RetryableError).retryAfterMs).toBe(6000);
  });
});
