import { describe, expect, it } from 'vitest';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import {
  addToBurst,
  conversationId,
  nextTurn,
  turnIdOf,
  type BufferedMessage,
  type BurstSettings,
  type BurstStep,
} from './burstTurns.js';

const t0 = Date.parse('2026-12-05T10:00:00Z');
const settings: BurstSettings = { windowMs: 2000, maxWaitMs: 8000 };
const endsBurst = (message: InboundMessage) => message.content.kind === 'text' && message.content.text === '/reset';

const message = (wamid: string, text = wamid): InboundMessage => ({
  v: 1,
  wamid,
  userId: 'u1',
  phoneNumberId: 'pn1',
  timestamp: t0 / 1000,
  content: { kind: 'text', text },
});
/** `[wamid, ms after t0]` or `[wamid, ms, text]`. */
const buffer = (...entries: [string, number, string?][]): BufferedMessage[] =>
  entries.map(([wamid, ms, text]) => ({ message: message(wamid, text), arrivedAt: new Date(t0 + ms) }));
const summary = (step: BurstStep) =>
  step.kind === 'take'
    ? `take ${step.messages.map((buffered) => buffered.message.wamid).join(',')}`
    : step.kind === 'wait'
      ? `wait until +${step.until.getTime() - t0}`
      : 'idle';

describe('nextTurn', () => {
  it.each<[string, BufferedMessage[], number, string]>([
    ['nothing pending', [], 0, 'idle'],
    ['a lone message waits out the window', buffer(['a', 0]), 1999, 'wait until +2000'],
    ['a lone message is due when the window has passed', buffer(['a', 0]), 2000, 'take a'],
    ['each message restarts the window', buffer(['a', 0], ['b', 1500]), 2000, 'wait until +3500'],
    ['a burst is taken whole, in arrival order', buffer(['a', 0], ['b', 1500], ['c', 2900]), 4900, 'take a,b,c'],
    [
      'the cap from the first message bounds the wait',
      buffer(['a', 0], ['b', 1900], ['c', 3800], ['d', 5700], ['e', 7600]),
      7700,
      'wait until +8000',
    ],
    ['at the cap the burst is taken even while it goes on', buffer(['a', 0], ['b', 1900], ['c', 3800], ['d', 5700], ['e', 7600]), 8000, 'take a,b,c,d,e'],
    ['a late handler (backlog) takes at once', buffer(['a', 0], ['b', 100]), 60_000, 'take a,b'],
    ['a reset ends the burst before it at once', buffer(['a', 0], ['b', 300], ['r', 600, '/reset'], ['c', 900]), 1000, 'take a,b'],
    ['the reset is a turn of its own', buffer(['r', 600, '/reset'], ['c', 900]), 1000, 'take r'],
    ['what follows the reset starts afresh', buffer(['c', 900], ['d', 1200]), 1300, 'wait until +3200'],
    ['two resets in a row are two turns', buffer(['r1', 0, '/reset'], ['r2', 10, '/reset']), 20, 'take r1'],
  ])('%s', (_name, pending, at, expected) => {
    expect(summary(nextTurn(pending, new Date(t0 + at), settings, endsBurst))).toBe(expected);
  });

  it('a message arriving while the agent answers the taken turn becomes the next turn', () => {
    const pending = buffer(['a', 0], ['b', 800]);
    const first = nextTurn(pending, new Date(t0 + 2800), settings, endsBurst);
    expect(summary(first)).toBe('take a,b');
    // The take removes a and b; c lands during the agent call, 3 s later.
    const late = buffer(['c', 5800]);
    expect(summary(nextTurn(late, new Date(t0 + 6000), settings, endsBurst))).toBe('wait until +7800');
    expect(summary(nextTurn(late, new Date(t0 + 7800), settings, endsBurst))).toBe('take c');
  });
});

describe('addToBurst', () => {
  it('appends in arrival order', () => {
    const pending = addToBurst(buffer(['a', 0]), buffer(['b', 500])[0]!);
    expect(pending?.map((buffered) => buffered.message.wamid)).toEqual(['a', 'b']);
  });

  it('does not add a wamid twice (a duplicate delivery)', () => {
    expect(addToBurst(buffer(['a', 0], ['b', 500]), buffer(['a', 900])[0]!)).toBeUndefined();
  });
});

describe('turn and conversation ids', () => {
  it('a turn is named by its first message', () => {
    expect(turnIdOf(buffer(['a', 0], ['b', 1]))).toBe('a');
    expect(() => turnIdOf([])).toThrow();
  });

  it('a conversation is one business number and one user, in a form safe for document ids', () => {
    expect(conversationId({ phoneNumberId: '123', userId: 'AR.x/1' })).toBe('123:AR.x%2F1');
    expect(conversationId({ phoneNumberId: '123', userId: '5491' })).not.toBe(conversationId({ phoneNumberId: '124', userId: '5491' }));
  });
});
