import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isValidSignature } from '../../shared/whatsapp/signature.js';
import { DEFAULT_DISPLAY_NUMBER } from '../webhookBodies.js';
import * as markup from './page/whatsappMarkup.js';
import { startWhatsAppSandbox, type WhatsAppSandbox } from './whatsappSandbox.js';

const TOKEN = 'sandbox-test-token';
const VERSION = 'v25.0';
const PHONE_NUMBER_ID = '123456789012345';

const sandbox: WhatsAppSandbox = await startWhatsAppSandbox({ accessToken: TOKEN, graphApiVersion: VERSION });
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

/** `token: null` sends no Authorization header. */
async function graph(path: string, body?: unknown, token: string | null = TOKEN) {
  const response = await request(`${sandbox.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const isJson = String(response.headers['content-type']).startsWith('application/json');
  return {
    status: response.statusCode,
    headers: response.headers,
    json: isJson ? ((await response.body.json()) as any) : undefined,
    bytes: isJson ? undefined : Buffer.from(await response.body.arrayBuffer()),
  };
}

const messagesPath = `/${VERSION}/${PHONE_NUMBER_ID}/messages`;

function textSend(body: string, extra: Record<string, unknown> = {}) {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to: '+5491155550001',
    type: 'text',
    text: { body },
    ...extra,
  };
}

describe('WhatsApp sandbox: Graph API', () => {
  it('accepts a text send like Meta and records it', async () => {
    const response = await graph(messagesPath, textSend('Hola 👋', { context: { message_id: 'wamid.IN1' } }));

    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      messaging_product: 'whatsapp',
      contacts: [{ input: '+5491155550001', wa_id: '5491155550001' }],
      messages: [{ id: expect.stringMatching(/^wamid\./) }],
    });
    const [sent] = sandbox.sent();
    expect(sent).toMatchObject({
      id: response.json.messages[0].id,
      to: '+5491155550001',
      type: 'text',
      text: 'Hola 👋',
      replyTo: 'wamid.IN1',
    });
    expect(sandbox.requests).toHaveLength(1);
    expect(sandbox.requests[0]).toMatchObject({ method: 'POST', path: messagesPath, status: 200 });
  });

  it('gives every send its own wamid and answers a BSUID recipient with user_id', async () => {
    const first = await graph(messagesPath, textSend('one'));
    const second = await graph(messagesPath, {
      messaging_product: 'whatsapp',
      recipient: 'AR.13491208655302741918',
      type: 'text',
      text: { body: 'two' },
    });

    expect(first.json.messages[0].id).not.toBe(second.json.messages[0].id);
    expect(second.json.contacts).toEqual([{ input: 'AR.13491208655302741918', user_id: 'AR.13491208655302741918' }]);
    expect(sandbox.sent().map((m) => m.text)).toEqual(['one', 'two']);
  });

  it('records interactive, image and reaction sends with their readable text', async () => {
    await graph(messagesPath, {
      messaging_product: 'whatsapp',
      to: '5491155550001',
      type: 'interactive',
      interactive: {
        type: 'button',
        body: { text: 'Pick one' },
        action: { buttons: [{ type: 'reply', reply: { id: 'yes', title: 'Yes' } }] },
      },
    });
    await graph(messagesPath, { messaging_product: 'whatsapp', to: '5491155550001', type: 'image', image: { link: 'https://example.com/a.png', caption: 'A map' } });
    await graph(messagesPath, { messaging_product: 'whatsapp', to: '5491155550001', type: 'reaction', reaction: { message_id: 'wamid.IN1', emoji: '👍' } });

    expect(sandbox.sent().map((m) => [m.type, m.text])).toEqual([
      ['interactive', 'Pick one'],
      ['image', 'A map'],
      ['reaction', '👍'],
    ]);
  });

  it('accepts a read receipt with and without the typing indicator', async () => {
    const plain = await graph(messagesPath, { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.IN1' });
    const typing = await graph(messagesPath, {
      messaging_product: 'whatsapp',
      status: 'read',
      message_id: 'wamid.IN2',
      typing_indicator: { type: 'text' },
    });

    expect(plain.json).toEqual({ success: true });
    expect(typing.json).toEqual({ success: true });
    expect(sandbox.reads()).toEqual([
      { messageId: 'wamid.IN1', typing: false, time: expect.any(Number) },
      { messageId: 'wamid.IN2', typing: true, time: expect.any(Number) },
    ]);
    expect(sandbox.sent()).toEqual([]);
  });

  it.each([
    ['missing', null],
    ['wrong', 'not-the-token'],
  ])('answers a %s token with 401 and code 190', async (_label, token) => {
    const response = await graph(messagesPath, textSend('hi'), token);

    expect(response.status).toBe(401);
    expect(response.json.error).toMatchObject({ type: 'OAuthException', code: 190 });
    expect(response.json.error.fbtrace_id).toEqual(expect.any(String));
    expect(sandbox.sent()).toEqual([]);
    expect(sandbox.requests[0]?.status).toBe(401);
  });

  it('fails the next send with an injected fault, then succeeds', async () => {
    sandbox.failNext({ status: 500, code: 131000 });

    const failed = await graph(messagesPath, textSend('first try'));
    const retried = await graph(messagesPath, textSend('first try'));

    expect(failed.status).toBe(500);
    expect(failed.json).toEqual({
      error: {
        message: '(#131000) Something went wrong',
        type: 'OAuthException',
        code: 131000,
        error_data: { messaging_product: 'whatsapp', details: expect.any(String) },
        fbtrace_id: expect.any(String),
      },
    });
    expect(retried.status).toBe(200);
    expect(sandbox.sent()).toHaveLength(1);
    expect(sandbox.requests.map((r) => r.status)).toEqual([500, 200]);
  });

  it('sends Retry-After with a rate-limit fault and honours count', async () => {
    sandbox.failNext({ status: 429, code: 130429, retryAfterSeconds: 7, count: 2 });

    const responses = [];
    for (let i = 0; i < 3; i++) responses.push(await graph(messagesPath, textSend(`n${i}`)));

    expect(responses.map((r) => r.status)).toEqual([429, 429, 200]);
    expect(responses[0]?.headers['retry-after']).toBe('7');
    expect(responses[0]?.json.error.message).toBe('(#130429) Rate limit hit');
    expect(responses[2]?.headers['retry-after']).toBeUndefined();
  });

  it('limits a fault to sends or to read calls', async () => {
    sandbox.failNext({ status: 429, code: 131056, only: 'send' });

    const read = await graph(messagesPath, { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.IN1' });
    const send = await graph(messagesPath, textSend('hi'));

    expect(read.status).toBe(200);
    expect(send.status).toBe(429);
    expect(send.json.error.code).toBe(131056);

    sandbox.failNext({ status: 503, code: 131016, only: 'read', count: 5 });
    sandbox.clearFaults();
    expect((await graph(messagesPath, { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.IN1' })).status).toBe(200);
  });

  it('serves registered media through the info call and a token-protected download URL', async () => {
    const bytes = Buffer.from('\x89PNG fake image bytes');
    const mediaId = sandbox.addMedia(bytes, 'image/png');

    const info = await graph(`/${VERSION}/${mediaId}`);
    expect(info.status).toBe(200);
    expect(info.json).toEqual({
      messaging_product: 'whatsapp',
      url: expect.stringContaining(`${sandbox.url}/`),
      mime_type: 'image/png',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      file_size: bytes.length,
      id: mediaId,
    });

    const downloadPath = info.json.url.slice(sandbox.url.length);
    const withoutToken = await graph(downloadPath, undefined, null);
    const download = await graph(downloadPath);

    expect(withoutToken.status).toBe(401);
    expect(download.status).toBe(200);
    expect(download.headers['content-type']).toBe('image/png');
    expect(download.bytes).toEqual(bytes);
  });

  it('refuses unknown media ids and tampered download URLs', async () => {
    const mediaId = sandbox.addMedia(Buffer.from('x'), 'audio/ogg');
    const unknown = await graph(`/${VERSION}/999`);
    const info = await graph(`/${VERSION}/${mediaId}`);
    const tampered = await graph(info.json.url.slice(sandbox.url.length).replace(/hash=[^&]+/, 'hash=forged'));

    expect(unknown.status).toBe(400);
    expect(unknown.json.error.code).toBe(100);
    expect(tampered.status).toBe(404);
  });

  it('rejects a text over 4096 characters like Meta and accepts exactly 4096', async () => {
    const tooLong = await graph(messagesPath, textSend('a'.repeat(4097)));
    const atLimit = await graph(messagesPath, textSend('a'.repeat(4096)));

    expect(tooLong.status).toBe(400);
    expect(tooLong.json.error).toMatchObject({ code: 100, message: '(#100) Invalid parameter' });
    expect(tooLong.json.error.error_data.details).toContain('4096');
    expect(atLimit.status).toBe(200);
    expect(sandbox.sent()).toHaveLength(1);
  });

  it('refuses calls under another Graph version when one is configured', async () => {
    const response = await graph(`/v19.0/${PHONE_NUMBER_ID}/messages`, textSend('hi'));

    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe(100);
  });

  it('waitFor resolves once the bot has sent, and rejects clearly on timeout', async () => {
    const waiting = sandbox.waitFor(() => sandbox.sent().find((m) => m.text === 'later'));
    setTimeout(() => void graph(messagesPath, textSend('later')), 20);

    await expect(waiting).resolves.toMatchObject({ text: 'later' });
    await expect(sandbox.waitFor(() => false, 100)).rejects.toThrow(/within 100 ms/);
  });
});

describe('WhatsApp sandbox: the user side', () => {
  const APP_SECRET = 'sandbox-app-secret';
  const ana = { phone: '+54 9 11 5555-0001', name: 'Ana Pérez' };
  const received: { raw: Buffer; signature: string | undefined; body: any }[] = [];
  let webhookStatus = 200;
  const receiver = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    received.push({ raw, signature: req.headers['x-hub-signature-256'] as string | undefined, body: JSON.parse(raw.toString()) });
    res.writeHead(webhookStatus).end();
  });
  let user: WhatsAppSandbox;
  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhook`;
    user = await startWhatsAppSandbox({ accessToken: TOKEN, appSecret: APP_SECRET, webhookUrl });
  });
  afterAll(async () => {
    await user.close();
    await new Promise((resolve) => receiver.close(resolve));
  });
  beforeEach(() => {
    user.reset();
    received.length = 0;
    webhookStatus = 200;
  });

  const message = (index = 0) => received[index]?.body.entry[0].changes[0].value.messages[0];

  it('sends a text as a signed webhook in Meta\'s escaped form', async () => {
    const result = await user.sendText(ana, 'café / ¿hola?');

    expect(result).toEqual({ wamid: expect.stringMatching(/^wamid\./), status: 200 });
    const [delivery] = received;
    expect(isValidSignature(delivery!.raw, delivery!.signature, APP_SECRET)).toBe(true);
    expect(delivery!.raw.toString()).toContain('caf\\u00e9 \\/ \\u00bfhola?');
    expect(delivery!.body.entry[0].changes[0].value.contacts[0]).toEqual({ profile: { name: 'Ana Pérez' }, wa_id: '5491155550001' });
    expect(message()).toMatchObject({ from: '5491155550001', id: result.wamid, type: 'text', text: { body: 'café / ¿hola?' } });
  });

  it('sends what staff write from the Business app as a signed smb_message_echoes webhook, from the page too', async () => {
    const result = await user.sendAsStaff(ana, 'Hola Ana, soy Luis');
    const post = await request(`${user.url}/api/staff`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sandbox': '1' },
      body: JSON.stringify({ user: ana, text: 'te llamo' }),
    });
    await post.body.dump();

    expect(result).toEqual({ wamid: expect.stringMatching(/^wamid\./), status: 200 });
    expect(received).toHaveLength(2);
    expect(isValidSignature(received[0]!.raw, received[0]!.signature, APP_SECRET)).toBe(true);
    const change = received[0]!.body.entry[0].changes[0];
    expect(change.field).toBe('smb_message_echoes');
    expect(change.value.message_echoes[0]).toMatchObject({ to: '5491155550001', id: result.wamid, type: 'text', text: { body: 'Hola Ana, soy Luis' } });
    expect(received[1]!.body.entry[0].changes[0].value.message_echoes[0].text.body).toBe('te llamo');
  });

  it('re-delivers the last webhook byte for byte', async () => {
    const { wamid } = await user.sendText(ana, 'once');
    const again = await user.redeliverLast();

    expect(again).toEqual({ wamid, status: 200 });
    expect(received).toHaveLength(2);
    expect(received[1]!.raw.equals(received[0]!.raw)).toBe(true);
    expect(received[1]!.signature).toBe(received[0]!.signature);
  });

  it('reports what the webhook answered instead of throwing', async () => {
    webhookStatus = 500;
    await expect(user.sendText(ana, 'hi')).resolves.toMatchObject({ status: 500, error: 'HTTP 500' });
  });

  it('quotes a bot message with the business number as its author', async () => {
    const sent = await graphAs(user, { messaging_product: 'whatsapp', to: '5491155550001', type: 'text', text: { body: 'Pick a time' } });
    await user.sendText(ana, 'The first one', { replyTo: sent.messages[0].id });

    expect(message().context).toEqual({ from: DEFAULT_DISPLAY_NUMBER, id: sent.messages[0].id });
  });

  it('sends an image whose media the bot can fetch back through Graph', async () => {
    const bytes = Buffer.from('fake jpeg bytes');
    const result = await user.sendMedia(ana, { bytes, mimeType: 'image/jpeg', caption: 'Is this right?' });

    const image = message().image;
    expect(image).toEqual({
      caption: 'Is this right?',
      mime_type: 'image/jpeg',
      sha256: createHash('sha256').update(bytes).digest('base64'),
      id: result.mediaId,
      url: expect.stringContaining(user.url),
    });
    const download = await request(image.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(Buffer.from(await download.body.arrayBuffer())).toEqual(bytes);
  });

  it('sends a voice note as audio with voice: true', async () => {
    await user.sendMedia(ana, { bytes: Buffer.from('OggS'), mimeType: 'audio/ogg; codecs=opus', voice: true });

    expect(message()).toMatchObject({ type: 'audio', audio: { mime_type: 'audio/ogg; codecs=opus', voice: true } });
  });

  it('sends a PDF as a document with its file name and caption', async () => {
    const bytes = Buffer.from('%PDF-1.4 invoice');
    const result = await user.sendMedia(ana, { bytes, mimeType: 'application/pdf', filename: 'invoice-42.pdf', caption: 'my invoice' });

    expect(message()).toMatchObject({
      type: 'document',
      document: { id: result.mediaId, mime_type: 'application/pdf', filename: 'invoice-42.pdf', caption: 'my invoice' },
    });
  });

  it('the page\'s voice button sends a recorded voice note: a generated Ogg/Opus clip the bot can fetch', async () => {
    const post = await request(`${user.url}/api/voice`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sandbox': '1' },
      body: JSON.stringify({ user: ana }),
    });
    expect(post.statusCode).toBe(200);
    const { mediaId } = (await post.body.json()) as { mediaId: string };
    expect(message()).toMatchObject({ type: 'audio', audio: { id: mediaId, mime_type: 'audio/ogg; codecs=opus', voice: true } });
    const download = await request(message().audio.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    const clip = Buffer.from(await download.body.arrayBuffer());
    expect(clip.toString('ascii', 0, 4)).toBe('OggS');
    expect(clip.toString('ascii', 28, 36)).toBe('OpusHead');
  });

  it('serves the chat page with its users escaped, and guards page actions with a header', async () => {
    await user.sendText({ phone: '15550009999', name: '<b>Eve</b>' }, 'hi');
    const page = await request(`${user.url}/`);
    const html = await page.body.text();
    const unguarded = await request(`${user.url}/api/text`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: ana, text: 'hi' }),
    });
    await unguarded.body.dump();

    expect(page.statusCode).toBe(200);
    expect(html).toContain('&#60;b&#62;Eve&#60;/b&#62;');
    expect(html).not.toContain('<b>Eve</b>');
    expect(unguarded.statusCode).toBe(405);
    expect(received).toHaveLength(1);
  });

  it('serves the page its markup module built from the worker\'s markup rules', async () => {
    const response = await request(`${user.url}/assets/whatsappMarkup.js`);
    const source = await response.body.text();
    const served = (await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`)) as typeof markup;
    const sample = `*bold* _it_ ~st~ \`code\` www.example.com/_x_ 2*3*4 \u2060*\u2060no\u2060*\u2060\n- item\n> quote\n\`\`\`\nblock *x*\n\`\`\``;

    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/javascript/);
    expect(served.parseMarkup(sample)).toEqual(markup.parseMarkup(sample));
  });

  it('runs page actions: a reaction, a button tap and a status storm', async () => {
    const post = (path: string, body: unknown) =>
      request(`${user.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sandbox': '1' }, body: JSON.stringify(body) });
    const sent = await graphAs(user, { messaging_product: 'whatsapp', to: '5491155550001', type: 'text', text: { body: 'Hi' } });
    const botId = sent.messages[0].id;

    await (await post('/api/reaction', { user: ana, messageId: botId, emoji: '👍' })).body.dump();
    await (await post('/api/button', { user: ana, messageId: botId, kind: 'button_reply', id: 'yes', title: 'Yes' })).body.dump();
    const storm = await post('/api/status-storm', { user: ana });

    expect(message(0)).toMatchObject({ type: 'reaction', reaction: { message_id: botId, emoji: '👍' } });
    expect(message(1)).toMatchObject({
      type: 'interactive',
      context: { from: DEFAULT_DISPLAY_NUMBER, id: botId },
      interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Yes' } },
    });
    expect(await storm.body.json()).toEqual({ callbacks: 6, statuses: { 200: 6 } });
    const statuses = received.slice(2).map((d) => d.body.entry[0].changes[0].value.statuses[0]);
    expect(statuses.every((s) => s.id === botId && s.recipient_id === '5491155550001')).toBe(true);
  });
});

async function graphAs(target: WhatsAppSandbox, body: unknown): Promise<any> {
  const response = await request(`${target.url}/v25.0/${PHONE_NUMBER_ID}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return response.body.json();
}

describe('WhatsApp sandbox: status webhooks and the 24-hour window', () => {
  const APP_SECRET = 'sandbox-status-secret';
  const received: { raw: Buffer; signature: string | undefined; body: any }[] = [];
  const receiver = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    received.push({ raw, signature: req.headers['x-hub-signature-256'] as string | undefined, body: JSON.parse(raw.toString()) });
    res.writeHead(200).end();
  });
  let meta: WhatsAppSandbox;
  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhook`;
    meta = await startWhatsAppSandbox({ accessToken: TOKEN, appSecret: APP_SECRET, webhookUrl, statusWebhooks: true });
  });
  afterAll(async () => {
    await meta.close();
    await new Promise((resolve) => receiver.close(resolve));
  });
  beforeEach(() => {
    meta.reset();
    received.length = 0;
  });

  const statuses = () =>
    received.flatMap((d) => d.body.entry[0].changes[0].value.statuses ?? []).map((s: any) => ({
      id: s.id,
      status: s.status,
      code: s.errors?.[0]?.code,
    }));
  const until = async (count: number) => {
    for (let i = 0; i < 100 && statuses().length < count; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    return statuses();
  };

  it('reports each accepted message sent and delivered, and read once the user reads the chat, in signed webhooks', async () => {
    const sent = await graphAs(meta, { messaging_product: 'whatsapp', to: '+5491155550001', type: 'text', text: { body: 'Hi' } });
    const id = sent.messages[0].id;
    expect((await until(2)).map((s) => s.status)).toEqual(['sent', 'delivered']);
    meta.readChat('5491155550001');
    expect(await until(3)).toMatchObject([{ id }, { id }, { id, status: 'read' }]);
    expect(received.every((d) => isValidSignature(d.raw, d.signature, APP_SECRET))).toBe(true);
    expect(received[0]!.body.entry[0].changes[0].value.metadata.phone_number_id).toBe(PHONE_NUMBER_ID);
  });

  it('fails free-form messages to a chat whose window is closed with 131047, lets templates through, and reopens when the user writes', async () => {
    await meta.sendText({ phone: '5491155550002' }, 'hola');
    received.length = 0;
    meta.closeWindow('5491155550002');
    const text = await graphAs(meta, { messaging_product: 'whatsapp', to: '+5491155550002', type: 'text', text: { body: 'late' } });
    const template = await graphAs(meta, {
      messaging_product: 'whatsapp',
      to: '+5491155550002',
      type: 'template',
      template: { name: 'reengage', language: { code: 'en_US' } },
    });
    const reported = await until(3);
    expect(reported.filter((s) => s.id === text.messages[0].id)).toEqual([expect.objectContaining({ status: 'failed', code: 131047 })]);
    expect(reported.filter((s) => s.id === template.messages[0].id).map((s) => s.status)).toEqual(['sent', 'delivered']);
    expect(meta.sent().find((m) => m.type === 'template')?.text).toBe('Hi! We have an answer for you. Reply to this message to see it.');

    await meta.sendText({ phone: '5491155550002' }, 'volví');
    received.length = 0;
    await graphAs(meta, { messaging_product: 'whatsapp', to: '+5491155550002', type: 'text', text: { body: 'now it goes' } });
    expect((await until(2)).map((s) => s.status)).toEqual(['sent', 'delivered']);
  });
});
