import { describe, expect, it } from 'vitest';
import { describeUnreadableMedia } from './describeUnreadableMedia.js';

const docx = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

describe('describeUnreadableMedia', () => {
  it.each([
    [{ fileName: 'pedido.docx', mimeType: docx, sizeBytes: 12_800 }, `"pedido.docx" (${docx}, 12.5 KB)`],
    [{ fileName: 'fotos.zip', mimeType: 'application/zip', sizeBytes: 3 * 1024 * 1024 }, '"fotos.zip" (application/zip, 3.0 MB)'],
    [{ fileName: 'a.bin', mimeType: 'application/octet-stream', sizeBytes: 900 }, '"a.bin" (application/octet-stream, 900 bytes)'],
    [{ mimeType: 'audio/amr' }, 'of type audio/amr'],
  ])('names what arrived: %o', (media, named) => {
    const note = describeUnreadableMedia({ kind: 'unreadable', ...media });
    expect(note).toContain(`file ${named} that cannot be opened here`);
    expect(note).toMatch(/^\[.*\]$/);
  });
});
