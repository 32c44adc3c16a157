import { describe, expect, it } from 'vitest';
import { decideClaim, type ClaimRequest, type InboundRecord } from './inboundLedger.js';

const t0 = new Date('2026-11-25T10:00:00Z');
const request = (overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
  wamid: 'wamid.1',
  userId: 'u1',
  now: t0,
  leaseMs: 30_000,
  retentionMs: 7 * 24 * 3600_000,
  ...overrides,
});
const at = (ms: number) => new Date(t0.getTime() + ms);

function firstClaim(): InboundRecord {
  const result = decideClaim(undefined, request());
  if (result.outcome !== 'claimed') throw new Error('expected a claim');
  return result.record;
}

describe('decideClaim', () => {
  it('claims a new message: processing, attempt 1, leased, expiring after the retention', () => {
    const record = firstClaim();
    expect(record).toMatchObject({ state: 'processing', attempts: 1, leaseUntil: at(30_000), sentChunks: [] });
    expect(record.expiresAt).toEqual(at(7 * 24 * 3600_000));
  });

  it('refuses while another delivery holds a live lease, counting the delivery', () => {
    const result = decideClaim(firstClaim(), request({ now: at(29_999) }));
    expect(result.outcome).toBe('busy');
    expect(result.record.attempts).toBe(2);
  });

  it('takes over an expired lease (the first worker died) and keeps what it recorded', () => {
    const record = { ...firstClaim(), replyText: 'hi', sentChunks: [{ index: 0, graphMessageId: 'wamid.out' }] };
    const result = decideClaim(record, request({ now: at(30_001) }));
    expect(result.outcome).toBe('claimed');
    expect(result.record).toMatchObject({ attempts: 2, leaseUntil: at(60_001), replyText: 'hi' });
    expect(result.record.sentChunks).toHaveLength(1);
  });

  it('takes over at once after a released lease', () => {
    const { leaseUntil: _lease, ...released } = firstClaim();
    expect(decideClaim(released, request({ now: at(1) })).outcome).toBe('claimed');
  });

  it('settles an answered message: a duplicate does nothing', () => {
    const answered = { ...firstClaim(), state: 'answered' as const };
    expect(decideClaim(answered, request({ now: at(1) })).outcome).toBe('settled');
  });

  it('settles a permanently failed message but keeps refusing an exhausted one so it dead-letters', () => {
    const failed = { ...firstClaim(), state: 'failed' as const, failureReason: 'graph_190' };
    expect(decideClaim(failed, request()).outcome).toBe('settled');
    expect(decideClaim({ ...failed, exhausted: true }, request()).outcome).toBe('exhausted');
  });

  it('reopens a failed message once per dead-letter replay, keeping the apology flag', () => {
    const failed = { ...firstClaim(), state: 'failed' as const, exhausted: true, apologySent: true, attempts: 5 };
    const replay = decideClaim(failed, request({ replayId: 'r1' }));
    expect(replay.outcome).toBe('claimed');
    expect(replay.record).toMatchObject({ state: 'processing', attempts: 1, replayId: 'r1', apologySent: true });
    expect(replay.record.exhausted).toBeUndefined();
    const again = { ...replay.record, state: 'failed' as const, exhausted: true };
    expect(decideClaim(again, request({ replayId: 'r1' })).outcome).toBe('exhausted');
  });

  it('does not reopen an answered message on replay', () => {
    const answered = { ...firstClaim(), state: 'answered' as const };
    expect(decideClaim(answered, request({ replayId: 'r2' })).outcome).toBe('settled');
  });
});
