import { describe, expect, it } from 'vitest';
import { receiptAttributes, receiptFrom } from './messageReceipt.js';

const trace = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true };

describe('message receipt attributes', () => {
  it('carry the trace as a W3C traceparent and the arrival time, and read back the same', () => {
    const receivedAt = new Date('2026-12-05T15:00:00.123Z');
    const attributes = receiptAttributes({ trace, receivedAt });
    expect(attributes).toEqual({
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      receivedAt: '2026-12-05T15:00:00.123Z',
    });
    expect(receiptFrom({ ...attributes, wamid: 'wamid.1' })).toEqual({ trace, receivedAt });
  });

  it('leave out what is missing or unreadable, so the message is still processed', () => {
    expect(receiptFrom({})).toEqual({});
    expect(receiptFrom({ traceparent: 'garbage', receivedAt: 'yesterday' })).toEqual({});
    expect(receiptFrom({ receivedAt: '2026-12-05T15:00:00.000Z' })).toEqual({ receivedAt: new Date('2026-12-05T15:00:00.000Z') });
  });
});
