import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { echoWebhook } from '../../local/webhookBodies.js';
import { metaExamples } from '../../test/fixtures/metaExamples.js';
import { InvalidWebhookError, parseWebhookBody } from './parseWebhookBody.js';

const parse = (raw: string) => parseWebhookBody(JSON.parse(raw));

describe('parseWebhookBody on the reference examples', () => {
  it('E1 text, BSUID era: keyed on the BSUID, phone and name kept, Unicode unescaped', () => {
    const { messages, statuses, ignored } = parse(metaExamples.E1);
    expect(statuses).toEqual([]);
    expect(ignored).toEqual([]);
    expect(messages).toEqual([
      {
        v: 1,
        wamid: 'wamid.HBgNNTQ5MTE1NTU1MDAwMRUCABIYFjNFQjA5QTFCMkMzRDRFNUY2MDcxODI5AA==',
        userId: 'AR.13491208655302741918',
        phone: '5491155550001',
        profileName: 'Ana Pérez',
        phoneNumberId: '123456789012345',
        timestamp: 1790000000,
        content: { kind: 'text', text: 'Hola, ¿tienen turnos para mañana?' },
      },
    ]);
  });

  it('E2 image with caption', () => {
    const [message] = parse(metaExamples.E2).messages;
    expect(message?.userId).toBe('GB.44120093348810276531');
    expect(message?.content).toEqual({
      kind: 'media',
      mediaType: 'image',
      mediaId: '1003383421387256',
      mimeType: 'image/jpeg',
      caption: 'Is this the right part?',
    });
  });

  it('E3 voice note', () => {
    expect(parse(metaExamples.E3).messages[0]?.content).toEqual({
      kind: 'media',
      mediaType: 'audio',
      mediaId: '2154319872634510',
      mimeType: 'audio/ogg; codecs=opus',
      voice: true,
    });
  });

  it('E4 interactive button reply, with the tapped message as context', () => {
    const [message] = parse(metaExamples.E4).messages;
    expect(message?.content).toEqual({ kind: 'interactive', replyType: 'button_reply', id: 'confirm-booking', title: 'Confirm' });
    expect(message?.contextWamid).toBe('wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSQk9UX01TR19CVVRUT05TXzAxAA==');
  });

  it('E5 reaction', () => {
    expect(parse(metaExamples.E5).messages[0]?.content).toEqual({
      kind: 'reaction',
      reactedWamid: 'wamid.HBgNNTQ5MTE1NTU1MDAwMRUCABEYEkJPVF9SRVBMWV8wMDAwMDAxAA==',
      emoji: '👍',
    });
  });

  it('E6 location', () => {
    expect(parse(metaExamples.E6).messages[0]?.content).toEqual({
      kind: 'location',
      latitude: 51.5033635,
      longitude: -0.1276248,
      name: 'Westminster Office',
      address: '10 Example St, London SW1A 2AA',
    });
  });

  it('E7 delivered status: a status, not a message', () => {
    const parsed = parse(metaExamples.E7);
    expect(parsed.messages).toEqual([]);
    expect(parsed.statuses).toEqual([
      {
        wamid: 'wamid.HBgNNTQ5MTE1NTU1MDAwMRUCABEYEkJPVF9SRVBMWV8wMDAwMDAxAA==',
        status: 'delivered',
        timestamp: 1790000065,
        phoneNumberId: '123456789012345',
        // Keyed like the user's own messages: the BSUID when Meta sends one.
        recipientId: 'AR.13491208655302741918',
        errors: [],
      },
    ]);
  });

  it('E8 failed status carries Meta’s error code', () => {
    const [status] = parse(metaExamples.E8).statuses;
    expect(status?.status).toBe('failed');
    expect(status?.errors[0]).toMatchObject({ code: 131047, title: 'Re-engagement message' });
  });

  it('E9 batch: every change of every entry, each keyed on its own user', () => {
    const { messages } = parse(metaExamples.E9);
    expect(messages.map((m) => [m.userId, m.content])).toEqual([
      ['AR.13491208655302741918', { kind: 'text', text: '¿A qué hora abren?' }],
      ['GB.44120093348810276531', { kind: 'text', text: 'Do you deliver to SW1?' }],
    ]);
  });

  it('E10 unsupported type is recognised as such', () => {
    expect(parse(metaExamples.E10).messages[0]?.content).toEqual({ kind: 'unsupported', type: 'poll_creation', fromMeta: true });
  });

  it('E11 username-only user: no phone, keyed on the BSUID, quoted context kept', () => {
    const [message] = parse(metaExamples.E11).messages;
    expect(message?.userId).toBe('US.90817263544536271809');
    expect(message?.phone).toBeUndefined();
    expect(message?.profileName).toBe('Chen');
    expect(message?.contextWamid).toBe('wamid.HBgLMTY1MDU1NTAxMDAVAgARGBJCT1RfTVNHXzAwMDAwMDAwMDEA');
  });

  it('E12 value-level error', () => {
    const parsed = parse(metaExamples.E12);
    expect(parsed.messages).toEqual([]);
    expect(parsed.errors).toEqual([
      { code: 131000, title: 'Something went wrong', message: 'Something went wrong', details: 'Unsupported webhook payload' },
    ]);
  });
});

describe('parseWebhookBody on other input', () => {
  it('falls back to wa_id when there is no BSUID', () => {
    const body = JSON.parse(metaExamples.E1);
    delete body.entry[0].changes[0].value.contacts[0].user_id;
    delete body.entry[0].changes[0].value.messages[0].from_user_id;
    expect(parseWebhookBody(body).messages[0]?.userId).toBe('5491155550001');
  });

  it('reads several entries and several messages per change', () => {
    const body = JSON.parse(metaExamples.E1);
    const message = body.entry[0].changes[0].value.messages[0];
    body.entry[0].changes[0].value.messages.push({ ...message, id: 'wamid.second' });
    body.entry.push(JSON.parse(metaExamples.E6).entry[0]);
    expect(parseWebhookBody(body).messages.map((m) => m.wamid)).toEqual([message.id, 'wamid.second', expect.any(String)]);
  });

  it('reports an unreadable message inside a valid envelope instead of throwing', () => {
    const body = JSON.parse(metaExamples.E1);
    body.entry[0].changes[0].value.messages.push({ type: 'text' });
    const parsed = parseWebhookBody(body);
    expect(parsed.messages).toHaveLength(1);
    expect(parsed.ignored).toEqual([{ reason: 'unreadable message' }]);
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['another object type', { object: 'page', entry: [] }],
    ['no entry', { object: 'whatsapp_business_account' }],
    ['entry not an array', { object: 'whatsapp_business_account', entry: {} }],
  ])('rejects %s as not a WhatsApp webhook', (_name, body) => {
    expect(() => parseWebhookBody(body)).toThrow(InvalidWebhookError);
  });

  it('never throws anything but InvalidWebhookError on generated bodies', () => {
    const anyJson = fc.jsonValue();
    const envelopeLike = fc.record({
      object: fc.constantFrom('whatsapp_business_account', 'page'),
      entry: fc.array(fc.record({ changes: fc.array(fc.record({ field: fc.constantFrom('messages', 'x'), value: anyJson })) })),
    });
    fc.assert(
      fc.property(fc.oneof(anyJson, envelopeLike), (body) => {
        try {
          parseWebhookBody(body);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidWebhookError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('parseWebhookBody: the Business app\'s echoes (smb_message_echoes, reference §11)', () => {
  it('reads a staff text as an echo to the user, apart from inbound messages', () => {
    const parsed = parseWebhookBody(echoWebhook({ phone: '5491155550001' }, 'Hola, soy Ana de la tienda', { wamid: 'wamid.echo1', timestamp: 1790000100 }));
    expect(parsed.messages).toEqual([]);
    expect(parsed.ignored).toEqual([]);
    expect(parsed.echoes).toEqual([
      {
        v: 1,
        kind: 'echo',
        wamid: 'wamid.echo1',
        phoneNumberId: '123456789012345',
        to: '5491155550001',
        timestamp: 1790000100,
        content: { kind: 'text', text: 'Hola, soy Ana de la tienda' },
      },
    ]);
  });

  it('keeps the user\'s BSUID and reads media echoes like inbound media', () => {
    const body = echoWebhook({ phone: '5491155550001', userId: 'AR.1349' }, 'x');
    const echo = (body.entry as { changes: { value: { message_echoes: Record<string, unknown>[] } }[] }[])[0]!.changes[0]!.value.message_echoes[0]!;
    Object.assign(echo, { type: 'image', text: undefined, image: { id: 'media-1', mime_type: 'image/jpeg', caption: 'su factura' } });
    const [parsed] = parseWebhookBody(body).echoes;
    expect(parsed).toMatchObject({ toUserId: 'AR.1349', content: { kind: 'media', mediaType: 'image', caption: 'su factura' } });
  });

  it('ignores, with a reason, an echo it cannot read or cannot place', () => {
    const noId = echoWebhook({ phone: '1' }, 'x');
    const echoes = (noId.entry as { changes: { value: { message_echoes: Record<string, unknown>[]; metadata?: unknown } }[] }[])[0]!.changes[0]!.value;
    delete echoes.message_echoes[0]!.id;
    expect(parseWebhookBody(noId)).toMatchObject({ echoes: [], ignored: [{ reason: 'unreadable message echo' }] });
    const noNumber = echoWebhook({ phone: '1' }, 'x', { wamid: 'wamid.e' });
    delete (noNumber.entry as { changes: { value: { metadata?: unknown } }[] }[])[0]!.changes[0]!.value.metadata;
    expect(parseWebhookBody(noNumber)).toMatchObject({ echoes: [], ignored: [{ wamid: 'wamid.e', reason: 'message echo without metadata.phone_number_id' }] });
  });
});
