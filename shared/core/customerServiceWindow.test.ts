import { describe, expect, it } from 'vitest';
import { CUSTOMER_SERVICE_WINDOW_MS, isWindowOpen, sendPermission } from './customerServiceWindow.js';

const wrote = new Date('2026-12-01T10:00:00Z');
const after = (ms: number) => new Date(wrote.getTime() + ms);

describe('the 24-hour customer-service window', () => {
  it('is open until 24 hours after the user’s last message, and closed from then on', () => {
    expect(isWindowOpen(wrote, after(0))).toBe(true);
    expect(isWindowOpen(wrote, after(CUSTOMER_SERVICE_WINDOW_MS - 1))).toBe(true);
    expect(isWindowOpen(wrote, after(CUSTOMER_SERVICE_WINDOW_MS))).toBe(false);
    expect(isWindowOpen(wrote, after(3 * CUSTOMER_SERVICE_WINDOW_MS))).toBe(false);
  });

  it('was never open for a user who never wrote', () => {
    expect(isWindowOpen(undefined, after(0))).toBe(false);
  });

  it('allows free text inside, a template outside, and nothing for an opted-out user', () => {
    expect(sendPermission({ optedOut: false, lastUserMessageAt: wrote }, after(3600_000))).toBe('free-text');
    expect(sendPermission({ optedOut: false, lastUserMessageAt: wrote }, after(CUSTOMER_SERVICE_WINDOW_MS))).toBe('template-only');
    expect(sendPermission({ optedOut: false }, after(0))).toBe('template-only');
    expect(sendPermission({ optedOut: true, lastUserMessageAt: wrote }, after(1))).toBe('opted-out');
  });
});
