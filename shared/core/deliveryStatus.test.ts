import { describe, expect, it } from 'vitest';
import { advanceStatus, failureClassOf, toDeliveryStatus, type StatusReport } from './deliveryStatus.js';

const at = (status: StatusReport['status'], timestamp: number, code?: number): StatusReport => ({
  status,
  timestamp,
  ...(code === undefined ? {} : { error: { code, details: `code ${code}` } }),
});

/** Applies reports in the given order and returns the stored status. */
function replay(reports: StatusReport[]): StatusReport | undefined {
  return reports.reduce<StatusReport | undefined>((stored, report) => advanceStatus(stored, report) ?? stored, undefined);
}

describe('advanceStatus', () => {
  it.each([
    ['sent', 'delivered', 'delivered'],
    ['sent', 'read', 'read'],
    ['delivered', 'read', 'read'],
    ['delivered', 'sent', undefined],
    ['read', 'delivered', undefined],
    ['read', 'sent', undefined],
    ['read', 'read', undefined],
    ['sent', 'failed', 'failed'],
    ['delivered', 'failed', undefined],
    ['read', 'failed', undefined],
    ['failed', 'sent', undefined],
    ['failed', 'delivered', undefined],
    ['failed', 'read', undefined],
  ] as const)('%s then %s → %s', (first, second, expected) => {
    const next = advanceStatus(at(first, 100), at(second, 200, second === 'failed' ? 131047 : undefined));
    expect(next?.status).toBe(expected);
  });

  it('stores the first report of a message as it is', () => {
    expect(advanceStatus(undefined, at('delivered', 5))).toEqual(at('delivered', 5));
  });

  it('keeps Meta’s code and details on a failure', () => {
    expect(advanceStatus(at('sent', 1), at('failed', 2, 131026))).toEqual({
      status: 'failed',
      timestamp: 2,
      error: { code: 131026, details: 'code 131026' },
    });
  });

  it('replaces a failure only with a newer failure', () => {
    expect(advanceStatus(at('failed', 10, 131047), at('failed', 9, 131026))).toBeUndefined();
    expect(advanceStatus(at('failed', 10, 131047), at('failed', 11, 131026))?.error?.code).toBe(131026);
  });

  it('ends at the furthest status whatever order sent, delivered and read arrive in', () => {
    const reports = [at('sent', 1), at('delivered', 2), at('read', 3)];
    const orders = [
      [0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0],
    ];
    for (const order of orders) {
      expect(replay(order.map((i) => reports[i]!))?.status).toBe('read');
    }
    // Duplicates change nothing either.
    expect(replay([at('read', 3), at('read', 3), at('delivered', 2), at('sent', 1)])?.status).toBe('read');
  });
});

describe('toDeliveryStatus', () => {
  it('reads Meta’s names and treats a voice note’s first play as read', () => {
    expect(toDeliveryStatus('delivered')).toBe('delivered');
    expect(toDeliveryStatus('played')).toBe('read');
    expect(toDeliveryStatus('deleted')).toBeUndefined();
  });
});

describe('failureClassOf', () => {
  it.each([
    [131047, 'window'],
    [131026, 'undeliverable'],
    [131049, 'ecosystem'],
    [131050, 'ecosystem'],
    [132001, 'template'],
    [132012, 'template'],
    [130429, 'rate_limit'],
    [131056, 'rate_limit'],
    [190, 'auth_or_policy'],
    [368, 'auth_or_policy'],
    [131000, 'other'],
    [undefined, 'other'],
  ] as const)('code %s → %s', (code, expected) => {
    expect(failureClassOf(code)).toBe(expected);
  });
});
