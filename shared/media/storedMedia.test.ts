import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCloudStorageStandIn, type CloudStorageStandIn } from '../../local/storage/cloudStorageStandIn.js';
import { startWhatsAppSandbox, type WhatsAppSandbox } from '../../local/sandbox/whatsappSandbox.js';
import { createGraphClient } from '../whatsapp/graphClient.js';
import { STORED_MEDIA_LIMITS } from './agentMedia.js';
import { createCloudStorageBucket } from './cloudStorageBucket.js';
import { createInlineMedia } from './inlineMedia.js';
import { createStoredMedia, mediaObjectName } from './storedMedia.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('createStoredMedia: Graph API sandbox → Cloud Storage stand-in', () => {
  let sandbox: WhatsAppSandbox;
  let storage: CloudStorageStandIn;
  let graph: ReturnType<typeof createGraphClient>;
  const downloads = () => sandbox.requests.filter((r) => r.path.startsWith('/whatsapp_business/attachments/')).length;
  const uploads = () => storage.requests.filter((r) => r.startsWith('POST /upload/')).length;

  beforeAll(async () => {
    sandbox = await startWhatsAppSandbox({ accessToken: 'token-1', graphApiVersion: 'v25.0' });
    storage = await startCloudStorageStandIn({ buckets: ['media-bucket'] });
    graph = createGraphClient({ baseUrl: sandbox.url, apiVersion: 'v25.0', accessToken: 'token-1', timeoutMs: 5000 });
  });
  afterAll(async () => {
    await Promise.all([sandbox.close(), storage.close()]);
  });
  beforeEach(() => {
    sandbox.reset();
    storage.reset();
  });

  const storedMedia = () =>
    createStoredMedia({
      media: graph,
      bucket: createCloudStorageBucket({ bucket: 'media-bucket', emulatorHost: storage.url, timeoutMs: 5000 }),
    });

  it('copies a voice note byte for byte and names it as gs:// audio/ogg', async () => {
    const voice = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(300_000, 9)]);
    const mediaId = sandbox.addMedia(voice, 'audio/ogg; codecs=opus');
    const media = await storedMedia().prepare({ wamid: 'wamid.voice', mediaId, mediaType: 'audio' });

    const name = mediaObjectName({ wamid: 'wamid.voice', mediaId });
    expect(media).toEqual({ kind: 'file', fileUri: `gs://media-bucket/${name}`, mimeType: 'audio/ogg' });
    const [object] = storage.objects('media-bucket');
    expect(object?.name).toBe(name);
    expect(object?.contentType).toBe('audio/ogg; codecs=opus');
    expect(sha256(object!.data)).toBe(sha256(voice));
  });

  it('a second attempt at the same message reuses the object: no second download or upload', async () => {
    const photo = Buffer.alloc(2048, 3);
    const mediaId = sandbox.addMedia(photo, 'image/jpeg');
    const ref = { wamid: 'wamid.photo', mediaId, mediaType: 'image' as const };
    const first = await storedMedia().prepare(ref);
    const second = await storedMedia().prepare(ref);
    expect(second).toEqual(first);
    expect(downloads()).toBe(1);
    expect(uploads()).toBe(1);
    expect(storage.objects('media-bucket')).toHaveLength(1);
  });

  it('replaces an object whose size disagrees with Meta (by generation), then reuses it', async () => {
    const photo = Buffer.alloc(4096, 5);
    const mediaId = sandbox.addMedia(photo, 'image/png');
    const ref = { wamid: 'wamid.short', mediaId, mediaType: 'image' as const };
    const bucket = createCloudStorageBucket({ bucket: 'media-bucket', emulatorHost: storage.url, timeoutMs: 5000 });
    const { Readable } = await import('node:stream');
    await bucket.write(mediaObjectName(ref), Readable.from([Buffer.alloc(10)]), { contentType: 'image/png', ifGenerationMatch: '0' });

    await storedMedia().prepare(ref);
    expect(sha256(storage.objects('media-bucket')[0]!.data)).toBe(sha256(photo));
  });

  it('refuses media over its type limit by Meta\'s stated size, before downloading, and stores nothing', async () => {
    const mediaId = sandbox.addMedia(Buffer.alloc(600 * 1024, 1), 'image/webp');
    const error = await storedMedia().prepare({ wamid: 'wamid.sticker', mediaId, mediaType: 'sticker' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'media_too_large', retryable: false });
    expect(downloads()).toBe(0);
    expect(storage.objects('media-bucket')).toEqual([]);
  });

  it('stops an oversized download partway when neither Meta nor the download states a size, and stores nothing', async () => {
    // A Graph stand-in that sends the body in chunks without Content-Length and leaves out file_size.
    const chunk = Buffer.alloc(64 * 1024, 2);
    let chunksSent = 0;
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/v25.0/')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: `${origin}/file`, mime_type: 'video/mp4' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'video/mp4' });
      const timer = setInterval(() => {
        chunksSent += 1;
        if (chunksSent > 100) {
          clearInterval(timer);
          res.end();
        } else res.write(chunk);
      }, 1);
      res.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const chunked = createGraphClient({ baseUrl: origin, apiVersion: 'v25.0', accessToken: 't', timeoutMs: 5000 });
      const limited = createStoredMedia({
        media: chunked,
        bucket: createCloudStorageBucket({ bucket: 'media-bucket', emulatorHost: storage.url, timeoutMs: 5000 }),
        limits: { ...STORED_MEDIA_LIMITS, video: 256 * 1024 },
      });
      const error = await limited.prepare({ wamid: 'wamid.video', mediaId: '77', mediaType: 'video' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ reason: 'media_too_large', retryable: false });
      expect(uploads()).toBe(1);
      expect(chunksSent).toBeLessThan(100);
      expect(storage.objects('media-bucket')).toEqual([]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a type the model cannot read (by Meta\'s metadata) is described, never downloaded or stored, even over the document limit', async () => {
    const xlsx = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
    const small = sandbox.addMedia(Buffer.alloc(3000, 1), xlsx);
    const large = sandbox.addMedia(Buffer.alloc(50 * 1024 * 1024 + 1, 1), 'application/zip');
    const ref = { wamid: 'wamid.sheet', mediaId: small, mediaType: 'document' as const, mimeType: xlsx, fileName: 'precios.xlsx' };
    expect(await storedMedia().prepare(ref)).toEqual({ kind: 'unreadable', mimeType: xlsx, fileName: 'precios.xlsx', sizeBytes: 3000 });
    // The webhook's type is not trusted over Meta's: a document the webhook called a PDF is judged by the metadata.
    expect(await storedMedia().prepare({ wamid: 'wamid.big', mediaId: large, mediaType: 'document', mimeType: 'application/pdf' })).toEqual({
      kind: 'unreadable',
      mimeType: 'application/zip',
      sizeBytes: 50 * 1024 * 1024 + 1,
    });
    expect(downloads()).toBe(0);
    expect(uploads()).toBe(0);
    expect(storage.objects('media-bucket')).toEqual([]);
  });

  it('fails retryably, naming storage, when the bucket is missing', async () => {
    const mediaId = sandbox.addMedia(Buffer.from('x'), 'image/jpeg');
    const wrong = createStoredMedia({
      media: graph,
      bucket: createCloudStorageBucket({ bucket: 'no-such-bucket', emulatorHost: storage.url, timeoutMs: 5000 }),
    });
    const error = await wrong.prepare({ wamid: 'wamid.x', mediaId, mediaType: 'image' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: true, system: 'storage', reason: 'storage_404' });
  });
});

describe('createInlineMedia', () => {
  let sandbox: WhatsAppSandbox;
  beforeAll(async () => {
    sandbox = await startWhatsAppSandbox({ accessToken: 'token-1', graphApiVersion: 'v25.0' });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('downloads the bytes into the input, with the parameter-free MIME type', async () => {
    const graph = createGraphClient({ baseUrl: sandbox.url, apiVersion: 'v25.0', accessToken: 'token-1', timeoutMs: 5000 });
    const voice = Buffer.from('OggS voice');
    const mediaId = sandbox.addMedia(voice, 'audio/ogg; codecs=opus');
    const media = await createInlineMedia({ whatsapp: graph, maxBytes: 1024 }).prepare({ wamid: 'w', mediaId, mediaType: 'audio' });
    expect(media).toEqual({ kind: 'inline', mimeType: 'audio/ogg', data: voice });
  });

  it('describes a type the model cannot read: without a Graph call when the webhook named it, else after the download', async () => {
    const graph = createGraphClient({ baseUrl: sandbox.url, apiVersion: 'v25.0', accessToken: 'token-1', timeoutMs: 5000 });
    const inline = createInlineMedia({ whatsapp: graph, maxBytes: 1024 });
    sandbox.reset();
    const named = await inline.prepare({ wamid: 'w1', mediaId: 'never-fetched', mediaType: 'document', mimeType: 'application/zip', fileName: 'a.zip' });
    expect(named).toEqual({ kind: 'unreadable', mimeType: 'application/zip', fileName: 'a.zip' });
    expect(sandbox.requests).toEqual([]);

    const mediaId = sandbox.addMedia(Buffer.alloc(700, 1), 'audio/amr');
    expect(await inline.prepare({ wamid: 'w2', mediaId, mediaType: 'audio' })).toEqual({ kind: 'unreadable', mimeType: 'audio/amr', sizeBytes: 700 });
  });
});
