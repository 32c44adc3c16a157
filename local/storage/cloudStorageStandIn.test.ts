import { createHash } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCloudStorageStandIn, type CloudStorageStandIn } from './cloudStorageStandIn.js';
import { crc32c } from './crc32c.js';

describe('the Cloud Storage stand-in, driven by @google-cloud/storage', () => {
  let standIn: CloudStorageStandIn;
  let storage: Storage;
  beforeAll(async () => {
    standIn = await startCloudStorageStandIn({ buckets: ['media-bucket'] });
    // What the client library does with STORAGE_EMULATOR_HOST, without touching this process's environment.
    storage = new Storage({ apiEndpoint: standIn.url, projectId: 'local-project', useAuthWithCustomEndpoint: false });
  });
  afterAll(async () => {
    await standIn.close();
  });
  beforeEach(() => standIn.reset());

  it('stores a simple upload and serves the same bytes, metadata and checksums back', async () => {
    const bytes = Buffer.from('%PDF-1.4 a tiny document\n');
    const file = storage.bucket('media-bucket').file('inbound/doc');
    await file.save(bytes, { resumable: false, contentType: 'application/pdf', preconditionOpts: { ifGenerationMatch: 0 } });

    const [metadata] = await file.getMetadata();
    expect(metadata).toMatchObject({ name: 'inbound/doc', bucket: 'media-bucket', contentType: 'application/pdf', size: String(bytes.length) });
    expect(metadata.md5Hash).toBe(createHash('md5').update(bytes).digest('base64'));
    // The library checks the download against x-goog-hash (crc32c by default): a wrong checksum would fail here.
    const [downloaded] = await file.download();
    expect(downloaded.equals(bytes)).toBe(true);
    expect((await file.exists())[0]).toBe(true);
    expect((await storage.bucket('media-bucket').file('inbound/none').exists())[0]).toBe(false);
  });

  it('refuses a second write with ifGenerationMatch=0 (412) and keeps the first', async () => {
    const file = storage.bucket('media-bucket').file('inbound/once');
    await file.save(Buffer.from('first'), { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    await expect(
      file.save(Buffer.from('second'), { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }),
    ).rejects.toMatchObject({ code: 412 });
    expect(standIn.objects('media-bucket').map((o) => o.data.toString())).toEqual(['first']);
  });

  it('serves the client configured the usual way, by STORAGE_EMULATOR_HOST (metadata calls without /storage/v1)', async () => {
    await storage.bucket('media-bucket').file('inbound/env').save('by env', { resumable: false });
    const previous = process.env.STORAGE_EMULATOR_HOST;
    process.env.STORAGE_EMULATOR_HOST = standIn.url;
    try {
      const [bytes] = await new Storage({ projectId: 'local-project' }).bucket('media-bucket').file('inbound/env').download();
      expect(bytes.toString()).toBe('by env');
    } finally {
      if (previous === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = previous;
    }
    expect(standIn.requests.at(-1)).toMatch(/^GET \/b\/media-bucket\/o\/inbound%2Fenv\?alt=media/);
  });

  it('answers 404 for an unknown bucket, as Cloud Storage does', async () => {
    await expect(storage.bucket('no-such-bucket').file('x').getMetadata()).rejects.toMatchObject({ code: 404 });
  });

  it('lists and deletes objects', async () => {
    const bucket = storage.bucket('media-bucket');
    await bucket.file('inbound/a').save('a', { resumable: false });
    await bucket.file('other/b').save('b', { resumable: false });
    const [files] = await bucket.getFiles({ prefix: 'inbound/' });
    expect(files.map((f) => f.name)).toEqual(['inbound/a']);
    await bucket.file('inbound/a').delete();
    expect(standIn.objects('media-bucket').map((o) => o.name)).toEqual(['other/b']);
  });
});

describe('crc32c', () => {
  it('matches the CRC-32C check value', () => {
    expect(crc32c(Buffer.from('123456789')).toString(16)).toBe('e3069283');
  });
});
