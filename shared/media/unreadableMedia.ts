import { agentMimeType, type MediaRef, type UnreadableMedia } from './agentMedia.js';

/** What the agent is told about an attachment it cannot open, from what Meta and the webhook said. */
export function unreadableMedia(ref: MediaRef, mimeType: string, sizeBytes: number | undefined): UnreadableMedia {
  return {
    kind: 'unreadable',
    mimeType: agentMimeType(mimeType),
    ...(ref.fileName ? { fileName: ref.fileName } : {}),
    ...(sizeBytes !== undefined ? { sizeBytes } : {}),
  };
}
