import { describe, expect, it } from 'vitest';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import { consentCommandOf, decideConsent, normaliseCommand } from './consentCommands.js';

const settings = { optOutCommands: ['stop', 'baja', 'parar'], optInCommands: ['start', 'alta'] };

const message = (content: InboundMessage['content']): InboundMessage => ({
  v: 1,
  wamid: 'wamid.1',
  userId: 'AR.1',
  phoneNumberId: '123',
  timestamp: 1,
  content,
});
const text = (body: string) => message({ kind: 'text', text: body });

describe('consent commands', () => {
  it.each(['STOP', 'stop', ' Stop ', '\tBAJA\n', 'parar'])('%j opts out', (body) => {
    expect(consentCommandOf(text(body), settings)).toBe('opt-out');
  });

  it.each(['START', ' alta ', 'Start'])('%j opts in', (body) => {
    expect(consentCommandOf(text(body), settings)).toBe('opt-in');
  });

  it.each(['stop please', 'STOP!', 'don’t stop', 'bajar', '', 'st op'])('%j is not a command', (body) => {
    expect(consentCommandOf(text(body), settings)).toBeUndefined();
  });

  it('reads a template’s quick-reply button like a typed word, and ignores other message types', () => {
    expect(consentCommandOf(message({ kind: 'button', text: 'Stop', payload: 'x' }), settings)).toBe('opt-out');
    expect(consentCommandOf(message({ kind: 'reaction', reactedWamid: 'w', emoji: '🛑' }), settings)).toBeUndefined();
    expect(consentCommandOf(message({ kind: 'interactive', replyType: 'button_reply', id: 'stop', title: 'x' }), settings)).toBeUndefined();
  });

  it('compares composed and decomposed accents alike', () => {
    expect(normaliseCommand('BAJA\u0301')).toBe(normaliseCommand('BAJÁ'));
  });
});

describe('decideConsent', () => {
  /** Opted out by a STOP written at the messages' own time (Unix second 1). */
  const optedOut = { optedOutAt: new Date(1000) };

  it('opts a subscribed user out, and answers nothing to a second STOP', () => {
    expect(decideConsent(text('STOP'), undefined, settings)).toBe('opt-out');
    expect(decideConsent(text('STOP'), optedOut, settings)).toBe('silent');
  });

  it('keeps an opted-out user in silence until an opt-in word', () => {
    expect(decideConsent(text('hola?'), optedOut, settings)).toBe('silent');
    expect(decideConsent(message({ kind: 'reaction', reactedWamid: 'w', emoji: '👍' }), optedOut, settings)).toBe('silent');
    expect(decideConsent(text('start'), optedOut, settings)).toBe('opt-in');
  });

  it('does not let a replayed START written before the opt-out, or in its second, lift it', () => {
    expect(decideConsent(text('start'), { optedOutAt: new Date(2000) }, settings, true)).toBe('silent');
    expect(decideConsent(text('start'), { optedOutAt: new Date(1000) }, settings, true)).toBe('silent');
    expect(decideConsent(text('start'), { optedOutAt: new Date(500) }, settings, true)).toBe('opt-in');
    // Delivered in order (not a replay), a START always answers the STOP before it, whatever the clocks say.
    expect(decideConsent(text('start'), { optedOutAt: new Date(2000) }, settings)).toBe('opt-in');
  });

  it('lets everything else through for a subscribed user, an opt-in word included', () => {
    expect(decideConsent(text('hola'), undefined, settings)).toBe('proceed');
    expect(decideConsent(text('START'), undefined, settings)).toBe('proceed');
  });
});
