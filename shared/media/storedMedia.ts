import { createHash } from 'node:crypto';
import type { MediaSource } from '../whatsapp/graphClient.js';
import { agentCanRead, agentMimeType, STORED_MEDIA_LIMITS, type AgentMedia, type MediaForAgent, type MediaRef } from './agentMedia.js';
import type { ObjectBucket, StoredObject } from './cloudStorageBucket.js';
import { unreadableMedia } from './unreadableMedia.js';

/** Where inbound media objects live in the bucket (the lifecycle rule may be scoped to it). */
export const MEDIA_OBJECT_PREFIX = 'inbound/';

/**
 * The object's name: a hash of the wamid and media id. It says nothing about the user (a wamid
 * embeds the phone number), yet every attempt at the same message finds the same object.
 */
export function mediaObjectName(ref: Pick<MediaRef, 'wamid' | 'mediaId'>): string {
  return `${MEDIA_OBJECT_PREFIX}${createHash('sha256').update(`${ref.wamid}\n${ref.mediaId}`).digest('hex')}`;
}

export interface StoredMediaOptions {
  media: MediaSource;
  bucket: ObjectBucket;
  limits?: Readonly<Record<MediaRef['mediaType'], number>>;
}

/**
 * Media copied from the Graph API into Cloud Storage, streamed (never held in memory), and passed
 * to the agent as a `gs://` URI. Written once per wamid: a retry finds the object (with Meta's
 * size) and downloads nothing. A type the model cannot read is neither downloaded nor stored.
 */
export function createStoredMedia(options: StoredMediaOptions): MediaForAgent {
  const limits = options.limits ?? STORED_MEDIA_LIMITS;
  const { bucket, media } = options;

  function asAgentMedia(object: StoredObject): AgentMedia {
    return { kind: 'file', fileUri: `gs://${bucket.name}/${object.name}`, mimeType: agentMimeType(object.contentType) };
  }

  return {
    async prepare(ref) {
      const name = mediaObjectName(ref);
      const [info, existing] = await Promise.all([media.mediaInfo(ref.mediaId), bucket.stat(name)]);
      const mimeType = info.mimeType ?? ref.mimeType ?? '';
      if (!agentCanRead(mimeType)) return unreadableMedia(ref, mimeType, info.fileSize);
      if (existing && (info.fileSize === undefined || existing.size === info.fileSize)) return asAgentMedia(existing);
      const download = await media.openMedia(info, limits[ref.mediaType]);
      // Only a missing object is written; a wrong-sized one (Meta's figure disagrees) is replaced, by generation.
      const written = await bucket.write(name, download.body, {
        contentType: download.mimeType,
        ifGenerationMatch: existing?.generation ?? '0',
      });
      if (written) return asAgentMedia(written);
      // Another attempt of the same message wrote it meanwhile.
      const raced = await bucket.stat(name);
      if (!raced) throw new Error(`media object ${name} was neither written nor found`);
      return asAgentMedia(raced);
    },
  };
}
