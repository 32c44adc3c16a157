import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { googleAccessToken } from '../auth/googleAccessToken.js';
import { PermanentError, RetryableError } from '../errors.js';

/** What the bridge needs to know about a stored object. */
export interface StoredObject {
  name: string;
  size: number;
  contentType: string;
  generation: string;
}

/** The seam to one Cloud Storage bucket. Failures are RetryableError (system `storage`) unless a retry cannot help. */
export interface ObjectBucket {
  readonly name: string;
  /** The object's metadata, or undefined when it does not exist. */
  stat(objectName: string): Promise<StoredObject | undefined>;
  /**
   * Writes the object in one request (created only once the whole body arrived). With
   * `ifGenerationMatch` (`'0'` = only if it does not exist yet) a lost race answers undefined.
   * A body that fails aborts the upload and the error is rethrown as it came.
   */
  write(objectName: string, body: Readable, options: { contentType: string; ifGenerationMatch?: string }): Promise<StoredObject | undefined>;
}

export interface CloudStorageBucketOptions {
  bucket: string;
  timeoutMs: number;
  /** `STORAGE_EMULATOR_HOST`: `host:port` or a URL; plain HTTP without credentials. */
  emulatorHost?: string;
  getAccessToken?: () => Promise<string>;
}

/**
 * A Cloud Storage bucket through the JSON API (objects.get and a single-request `uploadType=media`
 * insert) over one keep-alive pool.
 *
 * Why not @google-cloud/storage: the worker needs two calls, and this keeps the media path on the
 * same undici stack (timeouts, error classification) as every other outbound call. A single-request
 * upload streams the download straight through, and Cloud Storage creates the object only when the
 * whole body arrived, so an aborted copy (too large, Meta failed halfway) leaves nothing behind.
 */
export function createCloudStorageBucket(options: CloudStorageBucketOptions): ObjectBucket {
  const origin = options.emulatorHost ? emulatorOrigin(options.emulatorHost) : 'https://storage.googleapis.com';
  const pool = new Pool(origin, { connections: 16, keepAliveTimeout: 30_000 });
  const getAccessToken = options.emulatorHost ? undefined : (options.getAccessToken ?? googleAccessToken());
  const bucketPath = `/b/${encodeURIComponent(options.bucket)}/o`;

  async function headers(): Promise<Record<string, string>> {
    return getAccessToken ? { authorization: `Bearer ${await getAccessToken()}` } : {};
  }

  return {
    name: options.bucket,

    async stat(objectName) {
      const response = await send(() =>
        headers().then((auth) =>
          pool.request({
            method: 'GET',
            path: `/storage/v1${bucketPath}/${encodeURIComponent(objectName)}`,
            headers: auth,
            signal: AbortSignal.timeout(options.timeoutMs),
          }),
        ),
      );
      const text = await response.body.text();
      if (response.statusCode === 404) return undefined;
      if (response.statusCode !== 200) throw storageError(response.statusCode, text, 'stat');
      return storedObject(text);
    },

    async write(objectName, body, { contentType, ifGenerationMatch }) {
      const query = new URLSearchParams({ uploadType: 'media', name: objectName });
      if (ifGenerationMatch !== undefined) query.set('ifGenerationMatch', ifGenerationMatch);
      // The body's own error (the limit, Meta failing) is the one worth reporting, not the aborted upload's.
      let bodyError: unknown;
      body.once('error', (error) => {
        bodyError = error;
      });
      let response;
      try {
        response = await send(async () =>
          pool.request({
            method: 'POST',
            path: `/upload/storage/v1${bucketPath}?${query}`,
            headers: { ...(await headers()), 'content-type': contentType },
            body,
            signal: AbortSignal.timeout(options.timeoutMs),
          }),
        );
      } catch (error) {
        throw bodyError ?? error;
      } finally {
        // Refused before the body was read (412): stop the download behind it.
        if (!body.readableEnded) body.destroy();
      }
      const text = await response.body.text();
      if (bodyError) throw bodyError;
      if (response.statusCode === 412) return undefined;
      if (response.statusCode !== 200) throw storageError(response.statusCode, text, 'write');
      return storedObject(text);
    },
  };
}

/** The Node client takes a URL and the Go client a bare `host:port`; both name the same server. */
function emulatorOrigin(host: string): string {
  const url = new URL(/^https?:\/\//.test(host) ? host : `http://${host}`);
  return url.origin;
}

async function send<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new RetryableError(`Cloud Storage unreachable: ${(error as Error).message}`, 'storage_network', {
      system: 'storage',
      cause: error,
    });
  }
}

function storedObject(text: string): StoredObject {
  const object = JSON.parse(text) as { name: string; size: string; contentType?: string; generation: string };
  return {
    name: object.name,
    size: Number(object.size),
    contentType: object.contentType ?? 'application/octet-stream',
    generation: String(object.generation),
  };
}

function storageError(status: number, text: string, operation: string): Error {
  const message = `Cloud Storage ${operation} answered ${status}: ${text.slice(0, 300)}`;
  const details = { system: 'storage', fields: { storageStatus: status } } as const;
  // A missing grant (403) or bucket (404) is a setting to fix: retried, the message dead-letters and can be replayed.
  if (status === 400) return new PermanentError(message, `storage_${status}`, details);
  return new RetryableError(message, `storage_${status}`, details);
}
