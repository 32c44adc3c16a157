import { describe, expect, it } from 'vitest';
import { appendEntry, buildResumeTranscript, describeInbound, withResumeTranscript, type StoredTranscript, type TranscriptEntry } from './resumeTranscript.js';

const at = (n: number) => new Date(Date.parse('2026-12-05T10:00:00Z') + n * 1000);
const user = (n: number, text: string): TranscriptEntry => ({ from: 'user', text, at: at(n), id: `wamid.u${n}` });
const staff = (n: number, text: string): TranscriptEntry => ({ from: 'staff', text, at: at(n), id: `wamid.s${n}` });
const stored = (...entries: TranscriptEntry[]): StoredTranscript => ({ entries, omitted: 0 });

describe('buildResumeTranscript', () => {
  it('marks every message by who said it, oldest first, between a header and an end line', () => {
    expect(buildResumeTranscript(stored(user(1, 'quiero un reembolso'), staff(2, 'Hola, soy Ana.\nLo reviso ya'), user(3, 'gracias')))).toBe(
      [
        '[While you were paused, a person from the business took over this chat. What was said, oldest first:]',
        'User: quiero un reembolso',
        'Staff: Hola, soy Ana. / Lo reviso ya',
        'User: gracias',
        "[End of the hand-off. The user's new message follows.]",
      ].join('\n'),
    );
  });

  it('is undefined when nothing was said during the pause', () => {
    expect(buildResumeTranscript(stored())).toBeUndefined();
  });

  it('cuts one long message with an ellipsis, never inside an emoji', () => {
    const limits = { maxChars: 4000, maxEntryChars: 10 };
    expect(buildResumeTranscript(stored(staff(1, 'abcdefghijklmnop')), limits)).toContain('Staff: abcdefghi…\n');
    expect(buildResumeTranscript(stored(staff(1, 'abcdefgh😀xyz')), limits)).toContain('Staff: abcdefgh…\n');
  });

  it.each([
    [10, 2_000],
    [500, 4_000],
    [5_000, 4_000],
  ])('%i messages within %i characters: the newest kept whole, the rest counted in a note', (count, maxChars) => {
    const entries = Array.from({ length: count }, (_, i) => (i % 2 ? staff(i, `staff answer ${i} `.repeat(5)) : user(i, `user message ${i} `.repeat(5))));
    const text = buildResumeTranscript(stored(...entries), { maxChars, maxEntryChars: 600 })!;
    expect(text.length).toBeLessThanOrEqual(maxChars);
    const kept = text.split('\n').filter((line) => line.startsWith('User: ') || line.startsWith('Staff: '));
    const note = /\[(\d+) earlier messages? left out\]/.exec(text);
    expect(kept.length + Number(note?.[1] ?? 0)).toBe(count);
    expect(kept.at(-1)).toContain(`${count - 1} `);
    if (kept.length < count) expect(text.split('\n')[1]).toBe(note![0]);
  });

  it('counts the entries the stored record already dropped', () => {
    expect(buildResumeTranscript({ entries: [user(200, 'hola')], omitted: 140 })).toContain('\n[140 earlier messages left out]\nUser: hola\n');
    expect(buildResumeTranscript({ entries: [user(200, 'hola')], omitted: 1 })).toContain('[1 earlier message left out]');
  });
});

describe('appendEntry', () => {
  it('records a redelivered message once', () => {
    const once = appendEntry(stored(), user(1, 'hola'));
    expect(appendEntry(once, user(1, 'hola'))).toEqual(once);
  });

  it('keeps the newest entries and counts the dropped ones', () => {
    let transcript = stored();
    for (let i = 0; i < 7; i += 1) transcript = appendEntry(transcript, user(i, `m${i}`), 5);
    expect(transcript.entries.map((e) => e.text)).toEqual(['m2', 'm3', 'm4', 'm5', 'm6']);
    expect(transcript.omitted).toBe(2);
  });
});

describe('the first turn after a pause', () => {
  it('carries the transcript before the user’s new message', () => {
    expect(withResumeTranscript('[transcript]', '¿ya está mi reembolso?')).toBe('[transcript]\n\n¿ya está mi reembolso?');
    expect(withResumeTranscript(undefined, 'hola')).toBe('hola');
  });

  it.each([
    [{ kind: 'text', text: '/reset' }, '/reset'],
    [{ kind: 'media', mediaType: 'image', mediaId: 'm1', caption: 'the receipt' }, '[image: the receipt]'],
    [{ kind: 'media', mediaType: 'audio', mediaId: 'm2', voice: true }, '[voice note]'],
    [{ kind: 'location', latitude: -34.6, longitude: -58.4, name: 'Shop' }, '[location: Shop (-34.6, -58.4)]'],
    [{ kind: 'interactive', replyType: 'button_reply', id: 'yes', title: 'Sí' }, 'Sí'],
    [{ kind: 'reaction', reactedWamid: 'w', emoji: '👍' }, '[reacted 👍]'],
    [{ kind: 'unsupported', type: 'poll' }, '[a poll message]'],
  ] as const)('describes %j as %j', (content, expected) => {
    expect(describeInbound(content)).toBe(expected);
  });
});
