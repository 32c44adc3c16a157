import { createHash } from 'node:crypto';
import type { Storage } from '@google-cloud/storage';
import type { ReadFile } from './defaultReply.js';

/**
 * How the local agent reads a `file_data` part, as Gemini would: the object behind its `gs://` URI,
 * through @google-cloud/storage (against STORAGE_EMULATOR_HOST or the given stand-in). A missing
 * object fails the turn, as Gemini refuses a URI it cannot read.
 */
export function cloudStorageReader(options: { endpoint?: string } = {}): (file: { fileUri: string; mimeType: string }) => Promise<ReadFile> {
  let storage: Promise<Storage> | undefined;
  const client = () =>
    (storage ??= import('@google-cloud/storage').then(({ Storage }) =>
      options.endpoint
        ? new Storage({ apiEndpoint: options.endpoint, useAuthWithCustomEndpoint: false, projectId: 'local-project' })
        : new Storage(),
    ));
  return async ({ fileUri, mimeType }) => {
    const match = /^gs:\/\/([^/]+)\/(.+)$/.exec(fileUri);
    if (!match) throw new Error(`not a gs:// URI: ${fileUri}`);
    const [bytes] = await (await client()).bucket(match[1]!).file(match[2]!).download();
    return { fileUri, mimeType, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  };
}
