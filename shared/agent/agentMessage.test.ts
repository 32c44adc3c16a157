import { describe, expect, it } from 'vitest';
import { agentMessage } from './agentMessage.js';

describe('agentMessage', () => {
  it('is the plain text when nothing goes along', () => {
    expect(agentMessage('hola')).toBe('hola');
    expect(agentMessage('hola', [])).toBe('hola');
  });

  it('passes a stored image as a file_data part, then the caption as text', () => {
    expect(
      agentMessage('Is this the right part?', [{ kind: 'file', fileUri: 'gs://media-bucket/inbound/ab12', mimeType: 'image/jpeg' }]),
    ).toEqual({
      role: 'user',
      parts: [{ file_data: { file_uri: 'gs://media-bucket/inbound/ab12', mime_type: 'image/jpeg' } }, { text: 'Is this the right part?' }],
    });
  });

  it('leaves out an empty text part (Gemini refuses one)', () => {
    expect(agentMessage('', [{ kind: 'file', fileUri: 'gs://b/inbound/v', mimeType: 'audio/ogg' }])).toEqual({
      role: 'user',
      parts: [{ file_data: { file_uri: 'gs://b/inbound/v', mime_type: 'audio/ogg' } }],
    });
  });

  it('keeps the inline mode: base64 inline_data', () => {
    const data = Buffer.from([0, 1, 2, 250]);
    expect(agentMessage('look', [{ kind: 'inline', mimeType: 'image/png', data }])).toEqual({
      role: 'user',
      parts: [{ inline_data: { mime_type: 'image/png', data: 'AAEC+g==' } }, { text: 'look' }],
    });
  });

  it('keeps several attachments in order', () => {
    const message = agentMessage('two files', [
      { kind: 'file', fileUri: 'gs://b/inbound/1', mimeType: 'application/pdf' },
      { kind: 'file', fileUri: 'gs://b/inbound/2', mimeType: 'video/mp4' },
    ]);
    expect(typeof message === 'string' ? [] : message.parts.map((part) => Object.keys(part)[0])).toEqual(['file_data', 'file_data', 'text']);
  });
});
