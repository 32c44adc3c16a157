import type { CoreSettings } from '../../shared/core/coreDeps.js';

/** Worker settings for the core's unit tests; each suite overrides what it is about. */
export function testCoreSettings(overrides: Partial<CoreSettings> = {}): CoreSettings {
  return {
    leaseMs: 60_000,
    retentionMs: 7 * 24 * 3600_000,
    sessionTtlMs: 24 * 3600_000,
    rateLimitPerMinute: 10,
    maxReplyChars: 4096,
    apologyText: 'Sorry!',
    slowDownText: 'Slow down',
    mediaTooLargeText: 'Too big for me',
    resetConfirmText: 'Fresh start',
    unsupportedText: 'Text only please',
    mediaUnsupportedText: 'No media please',
    agentAcceptsMedia: false,
    resetCommands: ['/reset', 'reiniciar'],
    typingRefreshMs: 20_000,
    maxInlineRetryWaitMs: 10_000,
    optOutCommands: ['stop', 'baja'],
    optInCommands: ['start', 'alta'],
    optOutConfirmText: 'You are unsubscribed',
    optInConfirmText: 'Welcome back',
    heldReplyTtlMs: 72 * 3600_000,
    burstWindowMs: 0,
    burstMaxWaitMs: 0,
    handoffTimeoutMs: 60 * 60_000,
    ...overrides,
  };
}
