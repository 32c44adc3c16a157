import type { UnreadableMedia } from '../media/agentMedia.js';

/**
 * The note the agent gets, in the attachment's place, for a file its model cannot open: what
 * arrived (name, type, size) and that its content is not available, so the agent can answer the
 * user naturally (ask for a PDF, a screenshot, or the text) instead of the turn failing.
 */
export function describeUnreadableMedia(media: UnreadableMedia): string {
  const facts = [media.mimeType, ...(media.sizeBytes !== undefined ? [readableSize(media.sizeBytes)] : [])].join(', ');
  const file = media.fileName ? `"${media.fileName}" (${facts})` : `of type ${facts}`;
  return `[The user attached a file ${file} that cannot be opened here: its content is not available to you. Images, audio, video, PDF and plain-text files can be read.]`;
}

/** The note in the place of an attachment over its size limit, when the turn holds more than it. */
export function describeTooLargeMedia(mediaType: string): string {
  return `[That ${mediaType} is too large to open here: its content is not available to you. They can send a smaller file.]`;
}

function readableSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
