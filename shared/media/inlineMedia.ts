import type { WhatsAppClient } from '../whatsapp/graphClient.js';
import { agentCanRead, agentMimeType, STORED_MEDIA_LIMITS, type MediaForAgent } from './agentMedia.js';
import { unreadableMedia } from './unreadableMedia.js';

/**
 * Media passed inside the agent's input as base64 `inline_data` (no bucket). Kept behind
 * MEDIA_INLINE=true for agents that decode it themselves: Agent Engine validates the input in
 * Python mode, where base64 text in a bytes field is not decoded, so a stock ADK agent is likely
 * to see the attachment as text (see README). Capped by MAX_MEDIA_BYTES: every byte goes through
 * the request. A type the model cannot read is described instead (not downloaded when the webhook
 * already named its type).
 */
export function createInlineMedia(options: { whatsapp: Pick<WhatsAppClient, 'downloadMedia'>; maxBytes: number }): MediaForAgent {
  return {
    async prepare(ref) {
      if (ref.mimeType !== undefined && !agentCanRead(ref.mimeType)) return unreadableMedia(ref, ref.mimeType, undefined);
      const limit = Math.min(options.maxBytes, STORED_MEDIA_LIMITS[ref.mediaType]);
      const { data, mimeType } = await options.whatsapp.downloadMedia(ref.mediaId, limit);
      if (!agentCanRead(mimeType)) return unreadableMedia(ref, mimeType, data.length);
      return { kind: 'inline', mimeType: agentMimeType(mimeType), data };
    },
  };
}
