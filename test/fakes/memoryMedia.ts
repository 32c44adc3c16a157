import { PermanentError } from '../../shared/errors.js';
import type { AgentMedia, MediaForAgent, MediaRef } from '../../shared/media/agentMedia.js';

/**
 * Media for the core's unit tests: every attachment "stored" under a URI named after its message,
 * each request recorded; an id in `tooLarge` fails as an oversized download does.
 */
export function createMemoryMedia(): MediaForAgent & { prepared: MediaRef[]; tooLarge: Set<string> } {
  const prepared: MediaRef[] = [];
  const tooLarge = new Set<string>();
  return {
    prepared,
    tooLarge,
    async prepare(ref): Promise<AgentMedia> {
      prepared.push(ref);
      if (tooLarge.has(ref.mediaId)) throw new PermanentError(`media ${ref.mediaId} is over its limit`, 'media_too_large');
      return { kind: 'file', fileUri: `gs://test-media/${ref.wamid}`, mimeType: ref.mimeType ?? 'application/octet-stream' };
    },
  };
}
