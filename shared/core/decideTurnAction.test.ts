import { describe, expect, it } from 'vitest';
import type { InboundContent, InboundMessage } from '../whatsapp/inboundMessage.js';
import type { ConsentSettings } from './consentCommands.js';
import type { ActionSettings } from './decideAction.js';
import { decideTurnAction, endsBurst } from './decideTurnAction.js';

const settings: ActionSettings & ConsentSettings = {
  optOutCommands: ['stop', 'baja'],
  optInCommands: ['start'],
  agentAcceptsMedia: false,
  unsupportedText: 'Text only please',
  mediaUnsupportedText: 'No media please',
  resetCommands: ['/reset', 'reiniciar'],
};
let counter = 0;
const message = (content: InboundContent, extra: Partial<InboundMessage> = {}): InboundMessage => ({
  v: 1,
  wamid: `wamid.${++counter}`,
  userId: 'u1',
  phoneNumberId: 'pn1',
  timestamp: 1790000000,
  content,
  ...extra,
});
const text = (body: string, extra: Partial<InboundMessage> = {}) => message({ kind: 'text', text: body }, extra);
const image = (caption?: string) => message({ kind: 'media', mediaType: 'image', mediaId: 'm1', mimeType: 'image/jpeg', ...(caption ? { caption } : {}) });
const reaction = () => message({ kind: 'reaction', reactedWamid: 'wamid.out', emoji: '👍' });
const sticker = () => message({ kind: 'unsupported', type: 'poll' });

describe('decideTurnAction', () => {
  it('a turn of one message does what that message alone would', () => {
    expect(decideTurnAction([text('hola', { contextWamid: 'wamid.bot' })], settings)).toEqual({
      kind: 'ask-agent',
      parts: [{ text: 'hola', quotes: 'wamid.bot' }],
    });
    expect(decideTurnAction([text('/reset')], settings)).toEqual({ kind: 'reset-session' });
    expect(decideTurnAction([image()], settings)).toEqual({ kind: 'reply', text: 'No media please' });
    expect(decideTurnAction([reaction()], settings)).toEqual({ kind: 'ignore', reason: 'reaction' });
  });

  it('a burst asks the agent once, with every part in order and each quote in its place', () => {
    const action = decideTurnAction(
      [text('hola'), text('quiero cambiar mi pedido', { contextWamid: 'wamid.bot' }), text('el 4512, talla M')],
      settings,
    );
    expect(action).toEqual({
      kind: 'ask-agent',
      parts: [{ text: 'hola' }, { text: 'quiero cambiar mi pedido', quotes: 'wamid.bot' }, { text: 'el 4512, talla M' }],
    });
  });

  it('media the agent accepts keeps its place among the texts', () => {
    const photo = image('mi pedido');
    const action = decideTurnAction([text('mira'), photo, text('¿llegó así?')], { ...settings, agentAcceptsMedia: true });
    expect(action).toEqual({
      kind: 'ask-agent',
      parts: [
        { text: 'mira' },
        // Named by its own message: a retry of the turn finds the same stored copy.
        { text: 'mi pedido', media: { wamid: photo.wamid, mediaId: 'm1', mediaType: 'image', mimeType: 'image/jpeg' } },
        { text: '¿llegó así?' },
      ],
    });
  });

  it('what the bot cannot read becomes a note for the agent; reactions add nothing', () => {
    const action = decideTurnAction([image(), reaction(), text('¿qué te parece?'), sticker()], settings);
    expect(action).toEqual({
      kind: 'ask-agent',
      parts: [
        { text: '[The user sent an attachment (image) the bot cannot open]' },
        { text: '¿qué te parece?' },
        { text: '[The user sent a poll message the bot cannot read]' },
      ],
    });
  });

  it('a burst with nothing for the agent gets one fixed reply, or none', () => {
    expect(decideTurnAction([image(), sticker()], settings)).toEqual({ kind: 'reply', text: 'Text only please' });
    expect(decideTurnAction([reaction(), reaction()], settings)).toEqual({ kind: 'ignore', reason: '2 messages with nothing to answer' });
  });

  it('refuses an empty turn', () => {
    expect(() => decideTurnAction([], settings)).toThrow();
  });
});

describe('endsBurst', () => {
  it.each([
    ['/reset', true],
    ['  Reiniciar ', true],
    ['reset the order please', false],
    ['hola', false],
    ['STOP', true],
    [' Baja ', true],
    ['start', true],
    ['stop sending me the menu', false],
  ])('%j → %s', (body, expected) => {
    expect(endsBurst(text(body), settings)).toBe(expected);
  });

  it('only commands end a burst', () => {
    expect(endsBurst(image(), settings)).toBe(false);
    expect(endsBurst(reaction(), settings)).toBe(false);
  });
});
