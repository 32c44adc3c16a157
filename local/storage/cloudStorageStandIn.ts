import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32c } from './crc32c.js';

/**
 * A local Cloud Storage: the JSON API subset the worker and @google-cloud/storage use, in memory.
 * objects.get (metadata, or the bytes with `alt=media`), objects.list, objects.delete, and
 * objects.insert as a single-request upload (`uploadType=media` or `multipart`), with
 * `ifGenerationMatch`. An object exists only once its whole body arrived, as in Cloud Storage.
 *
 * Paths are served with and without the `/storage/v1` prefix: @google-cloud/storage uses
 * STORAGE_EMULATOR_HOST itself as the base URL of metadata calls (googleapis/nodejs-storage#1314).
 */

export interface StandInObject {
  bucket: string;
  name: string;
  contentType: string;
  data: Buffer;
  generation: string;
  created: Date;
}

export interface CloudStorageStandIn {
  /** `http://127.0.0.1:PORT`: STORAGE_EMULATOR_HOST. */
  readonly url: string;
  /** The stored objects of a bucket, by name order. */
  objects(bucket: string): StandInObject[];
  /** Every request, as `METHOD path`, in order (a test checks what was or was not asked). */
  readonly requests: readonly string[];
  /** The next `count` requests (default 1) answer `status` as Cloud Storage does when it fails. */
  failNext(fault: { status: number; count?: number }): void;
  /** Forgets every object, request and pending fault; buckets stay. */
  reset(): void;
  close(): Promise<void>;
}

export interface CloudStorageStandInOptions {
  /** Buckets that exist; any other answers 404 as Cloud Storage does. */
  buckets: string[];
  host?: string;
  port?: number;
  /** Receives one line per stored object; silent when omitted. */
  log?: (line: string) => void;
}

class StorageError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

export async function startCloudStorageStandIn(options: CloudStorageStandInOptions): Promise<CloudStorageStandIn> {
  const buckets = new Map(options.buckets.map((name) => [name, new Map<string, StandInObject>()]));
  const requests: string[] = [];
  let failures: { status: number; count: number } | undefined;
  let generations = 1_700_000_000_000_000;

  function bucketOf(name: string): Map<string, StandInObject> {
    const bucket = buckets.get(name);
    if (!bucket) throw new StorageError(404, 'The specified bucket does not exist.', 'notFound');
    return bucket;
  }

  function objectOf(bucketName: string, objectName: string): StandInObject {
    const object = bucketOf(bucketName).get(objectName);
    if (!object) throw new StorageError(404, `No such object: ${bucketName}/${objectName}`, 'notFound');
    return object;
  }

  function checkPrecondition(existing: StandInObject | undefined, ifGenerationMatch: string | null): void {
    if (ifGenerationMatch === null) return;
    const current = existing?.generation ?? '0';
    if (current !== ifGenerationMatch) {
      throw new StorageError(412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet');
    }
  }

  async function insert(req: IncomingMessage, url: URL, bucketName: string): Promise<StandInObject> {
    const bucket = bucketOf(bucketName);
    const uploadType = url.searchParams.get('uploadType');
    const ifGenerationMatch = url.searchParams.get('ifGenerationMatch');
    // A precondition that already fails is refused before the body is read, as Cloud Storage does.
    const nameInQuery = url.searchParams.get('name');
    if (nameInQuery) checkPrecondition(bucket.get(nameInQuery), ifGenerationMatch);
    const body = await readBody(req);
    let name = nameInQuery;
    let contentType = req.headers['content-type'] ?? 'application/octet-stream';
    let data = body;
    if (uploadType === 'multipart') {
      const parsed = parseMultipartRelated(body, contentType);
      name = parsed.metadata.name ?? name;
      contentType = parsed.metadata.contentType ?? parsed.contentType;
      data = parsed.data;
    } else if (uploadType !== 'media') {
      throw new StorageError(400, `uploadType ${uploadType ?? '(none)'} is not supported by the local stand-in`, 'invalid');
    }
    if (!name) throw new StorageError(400, 'Required parameter: name', 'required');
    checkPrecondition(bucket.get(name), ifGenerationMatch);
    const object = { bucket: bucketName, name, contentType, data, generation: String(generations++), created: new Date() };
    bucket.set(name, object);
    options.log?.(`stored gs://${bucketName}/${name} (${contentType}, ${data.length} bytes)`);
    return object;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (failures && failures.count > 0) {
      failures.count -= 1;
      req.resume();
      throw new StorageError(failures.status, 'Injected failure: the service is unavailable.', 'backendError');
    }
    const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
    if (upload && req.method === 'POST') {
      sendJson(res, 200, metadataOf(await insert(req, url, decodeURIComponent(upload[1]!))));
      return;
    }
    const path = url.pathname.replace(/^\/storage\/v1(?=\/b\/)/, '');
    const list = /^\/b\/([^/]+)\/o$/.exec(path);
    if (list && req.method === 'GET') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const items = [...bucketOf(decodeURIComponent(list[1]!)).values()]
        .filter((object) => object.name.startsWith(prefix))
        .sort((a, b) => a.name.localeCompare(b.name))
        .map(metadataOf);
      sendJson(res, 200, { kind: 'storage#objects', ...(items.length ? { items } : {}) });
      return;
    }
    const single = /^\/b\/([^/]+)\/o\/(.+)$/.exec(path);
    if (single) {
      const bucketName = decodeURIComponent(single[1]!);
      const objectName = decodeURIComponent(single[2]!);
      if (req.method === 'DELETE') {
        objectOf(bucketName, objectName);
        bucketOf(bucketName).delete(objectName);
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'GET') {
        const object = objectOf(bucketName, objectName);
        if (url.searchParams.get('alt') === 'media') sendMedia(res, object);
        else sendJson(res, 200, metadataOf(object));
        return;
      }
    }
    throw new StorageError(404, `Not Found: ${req.method} ${url.pathname}`, 'notFound');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      const status = error instanceof StorageError ? error.status : 500;
      const reason = error instanceof StorageError ? error.reason : 'backendError';
      const message = error instanceof Error ? error.message : String(error);
      sendJson(res, status, { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    requests,
    objects: (bucket) => [...bucketOf(bucket).values()].sort((a, b) => a.name.localeCompare(b.name)),
    failNext({ status, count = 1 }) {
      failures = { status, count };
    },
    reset() {
      for (const bucket of buckets.values()) bucket.clear();
      requests.length = 0;
      failures = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function metadataOf(object: StandInObject): Record<string, unknown> {
  return {
    kind: 'storage#object',
    id: `${object.bucket}/${object.name}/${object.generation}`,
    name: object.name,
    bucket: object.bucket,
    generation: object.generation,
    metageneration: '1',
    contentType: object.contentType,
    size: String(object.data.length),
    md5Hash: createHash('md5').update(object.data).digest('base64'),
    crc32c: crc32cBase64(object.data),
    storageClass: 'STANDARD',
    timeCreated: object.created.toISOString(),
    updated: object.created.toISOString(),
  };
}

function sendMedia(res: ServerResponse, object: StandInObject): void {
  res.writeHead(200, {
    'content-type': object.contentType,
    'content-length': object.data.length,
    'x-goog-generation': object.generation,
    'x-goog-stored-content-encoding': 'identity',
    // @google-cloud/storage checks the bytes it downloads against these.
    'x-goog-hash': `crc32c=${crc32cBase64(object.data)},md5=${createHash('md5').update(object.data).digest('base64')}`,
  });
  res.end(object.data);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The whole body, or a rejection when the client gave up halfway (nothing is stored then). */
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('upload aborted by the client')));
  });
}

/** `multipart/related`: a JSON metadata part, then the object's bytes (what the client library's simple upload sends). */
function parseMultipartRelated(body: Buffer, contentType: string): { metadata: { name?: string; contentType?: string }; contentType: string; data: Buffer } {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new StorageError(400, 'multipart upload without a boundary', 'invalid');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next === -1) break;
    parts.push(body.subarray(start + delimiter.length, next));
    start = next;
  }
  const [metadataPart, mediaPart] = parts.map(splitPart);
  if (!metadataPart || !mediaPart) throw new StorageError(400, 'multipart upload needs a metadata and a media part', 'invalid');
  return {
    metadata: JSON.parse(metadataPart.body.toString('utf8')) as { name?: string; contentType?: string },
    contentType: mediaPart.headers['content-type'] ?? 'application/octet-stream',
    data: mediaPart.body,
  };
}

function splitPart(part: Buffer): { headers: Record<string, string>; body: Buffer } {
  const headerEnd = part.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of part.subarray(0, headerEnd).toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  // The part ends with the CRLF that precedes the next delimiter.
  return { headers, body: part.subarray(headerEnd + 4, part.length - 2) };
}

function crc32cBase64(data: Buffer): string {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(crc32c(data));
  return value.toString('base64');
}
