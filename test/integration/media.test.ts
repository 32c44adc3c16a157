import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { oggOpusClip } from '../../local/sandbox/oggOpusClip.js';
import { mediaWebhook } from '../../local/webhookBodies.js';
import { mediaObjectName } from '../../shared/media/storedMedia.js';
import { describeWithEmulators, postWebhook, startTestStack } from './testStack.js';

/*
 * Media through Cloud Storage, end to end on the emulators: the sandbox serves the bytes as Meta
 * does, the worker copies them into the storage stand-in, and the local agent reads each gs://
 * object back, the way Gemini would, and reports what it read.
 */

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const metaSha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('base64');

const photo = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(40_000, 7)]);
const voiceNote = oggOpusClip(3);
const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

describeWithEmulators('media the agent can see, through Cloud Storage', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack({ AGENT_ACCEPTS_MEDIA: 'true', MEDIA_TOO_LARGE_TEXT: 'That file is too big for me.' });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  beforeEach(() => {
    stack.sandbox!.reset();
    stack.agent!.reset();
    stack.storage!.reset();
  });

  const bucket = () => stack.env.MEDIA_BUCKET!;
  const downloadsOf = (mediaId: string) =>
    stack.sandbox!.requests.filter((r) => r.path.startsWith('/whatsapp_business/attachments/') && r.path.includes(mediaId)).length;
  const uploads = () => stack.storage!.requests.filter((r) => r.startsWith('POST /upload/')).length;

  /** Sends one media message and waits for the bot's reply to it. */
  async function sendMedia(
    phone: string,
    kind: 'image' | 'audio' | 'document',
    bytes: Buffer,
    mimeType: string,
    extra: { caption?: string; voice?: boolean; filename?: string } = {},
  ) {
    const sandbox = stack.sandbox!;
    const mediaId = sandbox.addMedia(bytes, mimeType);
    const body = mediaWebhook({ phone }, kind, { id: mediaId, mimeType, sha256: metaSha256(bytes), ...extra });
    const wamid = (body as { entry: { changes: { value: { messages: { id: string }[] } }[] }[] }).entry[0]!.changes[0]!.value.messages[0]!.id;
    expect((await postWebhook(stack, body)).status).toBe(200);
    await sandbox.waitFor(() => sandbox.sent().some((m) => m.to === `+${phone}`), 30_000);
    return { mediaId, wamid, reply: sandbox.sent().find((m) => m.to === `+${phone}`)! };
  }

  it('an image with its caption: a file_data part whose object holds exactly the bytes Meta served, then the caption', async () => {
    const { mediaId, wamid, reply } = await sendMedia('447700900201', 'image', photo, 'image/jpeg', { caption: 'Is this the right part?' });

    const name = mediaObjectName({ wamid, mediaId });
    const [call] = stack.agent!.calls;
    expect(call!.input.message).toEqual({
      role: 'user',
      parts: [{ file_data: { file_uri: `gs://${bucket()}/${name}`, mime_type: 'image/jpeg' } }, { text: 'Is this the right part?' }],
    });
    const [object] = stack.storage!.objects(bucket());
    expect(object).toMatchObject({ name, contentType: 'image/jpeg' });
    expect(sha256(object!.data)).toBe(sha256(photo));
    // The object's name tells nothing about the user.
    expect(name).not.toContain('447700900201');
    // The agent read the same bytes back from Cloud Storage and said so.
    expect(call!.files).toEqual([{ fileUri: `gs://${bucket()}/${name}`, mimeType: 'image/jpeg', bytes: photo.length, sha256: sha256(photo) }]);
    expect(reply.text).toContain(`${photo.length} bytes, sha256 ${sha256(photo)}`);
  });

  it('a voice note goes as audio/ogg (the codecs parameter dropped), with a note as its text', async () => {
    const { reply } = await sendMedia('447700900202', 'audio', voiceNote, 'audio/ogg; codecs=opus', { voice: true });
    const [call] = stack.agent!.calls;
    const parts = (call!.input.message as { parts: Record<string, { mime_type?: string }>[] }).parts;
    expect(parts[0]!.file_data!.mime_type).toBe('audio/ogg');
    expect(parts[1]).toEqual({ text: '[The user sent a voice note]' });
    const [object] = stack.storage!.objects(bucket());
    expect(object!.contentType).toBe('audio/ogg; codecs=opus');
    expect(sha256(object!.data)).toBe(sha256(voiceNote));
    expect(reply.text).toContain(`sha256 ${sha256(voiceNote)}`);
  });

  it('a PDF document arrives intact as application/pdf', async () => {
    await sendMedia('447700900203', 'document', pdf, 'application/pdf');
    const [call] = stack.agent!.calls;
    expect(call!.files).toMatchObject([{ mimeType: 'application/pdf', bytes: pdf.length, sha256: sha256(pdf) }]);
    expect(sha256(stack.storage!.objects(bucket())[0]!.data)).toBe(sha256(pdf));
  });

  it('a Word document is not attached: the agent is told its name, type and size in text and answers; nothing downloaded or stored', async () => {
    const docx = Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(12_800 - 4, 3)]);
    const docxType = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
    const { mediaId, reply } = await sendMedia('447700900207', 'document', docx, docxType, { filename: 'pedido-4512.docx' });

    const [call] = stack.agent!.calls;
    // No file_data part: a plain text message, which Gemini always accepts.
    expect(call!.input.message).toBe(
      `[The user sent a document: pedido-4512.docx]\n[The user attached a file "pedido-4512.docx" (${docxType}, 12.5 KB) that cannot be opened here: its content is not available to you. Images, audio, video, PDF and plain-text files can be read.]`,
    );
    expect(call!.files).toEqual([]);
    expect(call!.failedWith).toBeUndefined();
    // The agent answered (the local agent offers its menu, a text then the PDF, to the word "document"); no apology.
    expect(reply.text).toBe('Here is our menu.');
    const sentTo = () => stack.sandbox!.sent().filter((m) => m.to === '+447700900207').map((m) => [m.type, m.text]);
    await stack.sandbox!.waitFor(() => sentTo().length >= 2, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(sentTo()).toEqual([['text', 'Here is our menu.'], ['document', 'Menu']]);
    expect(downloadsOf(mediaId)).toBe(0);
    expect(uploads()).toBe(0);
    expect(stack.storage!.objects(bucket())).toEqual([]);
    expect(stack.worker.lines.some((line) => line.includes('attachment of a type the agent cannot read'))).toBe(true);
  });

  it('a zip with a caption, then a plain-text file: the caption and the note for the zip, the text file attached as text/plain', async () => {
    const zip = Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(2000, 1)]);
    await sendMedia('447700900208', 'document', zip, 'application/zip', { filename: 'fotos.zip', caption: '¿Os llegan las fotos?' });
    const [zipCall] = stack.agent!.calls;
    expect(zipCall!.input.message).toBe(
      '¿Os llegan las fotos?\n[The user attached a file "fotos.zip" (application/zip, 2.0 KB) that cannot be opened here: its content is not available to you. Images, audio, video, PDF and plain-text files can be read.]',
    );

    stack.agent!.reset();
    const notes = Buffer.from('talla M, color azul\n');
    await sendMedia('447700900209', 'document', notes, 'text/plain', { filename: 'notas.txt' });
    const [textCall] = stack.agent!.calls;
    expect(textCall!.files).toMatchObject([{ mimeType: 'text/plain', bytes: notes.length, sha256: sha256(notes) }]);
  });

  it('a retry after a failed agent call reuses the stored object: one download, one upload, one reply', async () => {
    stack.agent!.failNext(1, grpc.status.UNAVAILABLE);
    const { mediaId, reply } = await sendMedia('447700900204', 'image', photo, 'image/jpeg', { caption: 'second try' });

    const calls = stack.agent!.calls;
    expect(calls).toHaveLength(2);
    expect(calls[0]!.failedWith).toBe(grpc.status.UNAVAILABLE);
    expect(calls[1]!.input.message).toEqual(calls[0]!.input.message);
    expect(downloadsOf(mediaId)).toBe(1);
    expect(uploads()).toBe(1);
    expect(stack.storage!.objects(bucket())).toHaveLength(1);
    expect(reply.text).toContain(`sha256 ${sha256(photo)}`);
    expect(stack.sandbox!.sent().filter((m) => m.to === '+447700900204')).toHaveLength(1);
  });

  it('Cloud Storage failing (503) on the first attempt: retried by Pub/Sub, answered once, the object written once', async () => {
    stack.storage!.failNext({ status: 503 });
    const { reply } = await sendMedia('447700900206', 'document', pdf, 'application/pdf');
    expect(stack.agent!.calls).toHaveLength(1);
    expect(stack.storage!.objects(bucket())).toHaveLength(1);
    expect(uploads()).toBe(1);
    expect(reply.text).toContain(`sha256 ${sha256(pdf)}`);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(stack.sandbox!.sent().filter((m) => m.to === '+447700900206')).toHaveLength(1);
    expect(stack.worker.lines.some((line) => line.includes('storage_503'))).toBe(true);
  });

  it('an image over its limit gets the friendly reply; the agent is not asked and nothing is stored', async () => {
    const tooLarge = Buffer.alloc(5 * 1024 * 1024 + 1, 1);
    const { mediaId, reply } = await sendMedia('447700900205', 'image', tooLarge, 'image/jpeg');
    expect(reply.text).toBe('That file is too big for me.');
    expect(stack.agent!.calls).toHaveLength(0);
    expect(stack.storage!.objects(bucket())).toEqual([]);
    expect(downloadsOf(mediaId)).toBe(0);
  });
});
