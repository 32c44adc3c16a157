import { describe, expect, it } from 'vitest';
import { mergeHold, type HeldReplies } from './heldReplyStore.js';

const now = new Date('2026-12-05T10:00:00Z');
const later = new Date('2026-12-05T11:00:00Z');
const user = { phoneNumberId: 'pn1', userId: 'AR.1' };
const reply = (id: string, heldAt = later) => ({ id, text: `reply ${id}`, heldAt });

describe('mergeHold', () => {
  const live = (replies: HeldReplies['replies']): HeldReplies => ({
    ...user,
    replies,
    templateClaimedAt: now,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 72 * 3600_000),
  });

  it('adds to a live hold once per reply id, without a second template', () => {
    const { next, sendTemplate } = mergeHold(live([reply('a', now)]), { ...user, replies: [reply('a'), reply('b')], now: later, ttlMs: 72 * 3600_000 });
    expect(sendTemplate).toBe(false);
    expect(next.replies.map((r) => r.id)).toEqual(['a', 'b']);
    expect(next.createdAt).toEqual(now);
  });

  it('starts afresh, with a template, over a hold whose replies are all gone (as an older version left them)', () => {
    const { next, sendTemplate } = mergeHold(live([]), { ...user, replies: [reply('b')], now: later, ttlMs: 72 * 3600_000 });
    expect(sendTemplate).toBe(true);
    expect(next).toMatchObject({ replies: [reply('b')], templateClaimedAt: later, createdAt: later });
  });
});
