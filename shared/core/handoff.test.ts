import { describe, expect, it } from 'vitest';
import { inboundDuringHandoff, isPaused, noteStaffActivity, pause, resume, type Handoff } from './handoff.js';

const t0 = Date.parse('2026-12-05T10:00:00Z');
const at = (minutes: number) => new Date(t0 + minutes * 60_000);
const settings = { timeoutMs: 60 * 60_000 };

describe('pause: each way in', () => {
  it.each([
    ['agent', { by: 'agent' as const, reason: 'refund over limit' }],
    ['admin', { by: 'admin' as const, reason: 'VIP' }],
    ['business_app', { by: 'business_app' as const }],
  ])('%s: paused from now until the timeout, with its reason', (_name, request) => {
    const handoff = pause(undefined, request, at(0), settings);
    expect(handoff).toEqual({ since: at(0), until: at(60), by: request.by, ...('reason' in request ? { reason: request.reason } : {}) });
    expect(isPaused(handoff, at(59))).toBe(true);
    expect(isPaused(handoff, at(60))).toBe(false);
  });

  it('an operator’s minutes replace the timeout and fix the end', () => {
    expect(pause(undefined, { by: 'admin', minutes: 15 }, at(0), settings)).toEqual({ since: at(0), until: at(15), by: 'admin', fixedUntil: true });
  });

  it('renewing an active pause keeps who started it and since when; a new reason replaces the old one', () => {
    const byAgent = pause(undefined, { by: 'agent', reason: 'refund' }, at(0), settings);
    expect(pause(byAgent, { by: 'admin' }, at(30), settings)).toEqual({ since: at(0), until: at(90), by: 'agent', reason: 'refund' });
    expect(pause(byAgent, { by: 'admin', reason: 'escalated' }, at(30), settings).reason).toBe('escalated');
  });

  it('renewing never shortens the pause, unless the operator gives minutes', () => {
    const long = pause(undefined, { by: 'admin', minutes: 600 }, at(0), settings);
    expect(pause(long, { by: 'agent' }, at(10), settings)).toMatchObject({ until: at(600), fixedUntil: true });
    expect(pause(long, { by: 'admin', minutes: 5 }, at(10), settings)).toMatchObject({ until: at(15), fixedUntil: true });
  });

  it('a pause after one that ran out starts afresh', () => {
    const old = pause(undefined, { by: 'agent', reason: 'refund' }, at(0), settings);
    expect(pause(old, { by: 'business_app' }, at(120), settings)).toEqual({ since: at(120), until: at(180), by: 'business_app' });
  });
});

describe('staff activity', () => {
  it('extends an active pause to the timeout from the activity', () => {
    const handoff = pause(undefined, { by: 'agent' }, at(0), settings);
    const extended = noteStaffActivity(handoff, 'business_app', at(50), settings);
    expect(extended).toEqual({ ...handoff, until: at(110) });
    expect(isPaused(extended, at(100))).toBe(true);
    expect(isPaused(handoff, at(100))).toBe(false);
  });

  it('starts a pause when none is active: staff writing to the user is a take-over', () => {
    expect(noteStaffActivity(undefined, 'business_app', at(0), settings)).toEqual({ since: at(0), until: at(60), by: 'business_app' });
    const expired = pause(undefined, { by: 'agent' }, at(0), settings);
    expect(noteStaffActivity(expired, 'admin', at(61), settings)).toEqual({ since: at(61), until: at(121), by: 'admin' });
  });

  it('does not move the end an operator fixed with minutes', () => {
    const fixed = pause(undefined, { by: 'admin', minutes: 10 }, at(0), settings);
    expect(noteStaffActivity(fixed, 'business_app', at(9), settings).until).toEqual(at(10));
  });
});

describe('resume and what an inbound message meets', () => {
  const active: Handoff = pause(undefined, { by: 'admin', reason: 'VIP', minutes: 30 }, at(0), settings);

  it('the operator ends the pause now; ending an inactive one changes nothing', () => {
    const ended = resume(active, at(5));
    expect(ended).toEqual({ since: at(0), until: at(5), endedAt: at(5), by: 'admin', reason: 'VIP' });
    expect(isPaused(ended, at(5))).toBe(false);
    expect(resume(ended, at(6))).toBe(ended);
    expect(resume(undefined, at(6))).toBeUndefined();
  });

  it.each([
    ['no hand-off', undefined, 0, 'bot'],
    ['an active pause', active, 29, 'paused'],
    ['a pause that ran out', active, 30, 'resumed'],
    ['a pause an operator ended', resume(active, at(5)), 6, 'resumed'],
  ] as const)('%s → %s', (_name, handoff, minute, expected) => {
    expect(inboundDuringHandoff(handoff, at(minute))).toBe(expected);
  });
});
