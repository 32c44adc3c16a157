import type { WorkerConfig } from '../../shared/config/config.js';
import type { CoreSettings } from '../../shared/core/coreDeps.js';
import type { NumberSettings } from '../../shared/core/numberRoutes.js';
import type { ReengagementSettings } from '../../shared/core/reengagement.js';

export function workerSettings(config: WorkerConfig): CoreSettings {
  return {
    leaseMs: config.PROCESSING_LEASE_SECONDS * 1000,
    retentionMs: config.INBOUND_RECORD_TTL_DAYS * 24 * 3600 * 1000,
    sessionTtlMs: config.SESSION_TTL_HOURS * 3600 * 1000,
    rateLimitPerMinute: config.USER_RATE_LIMIT_PER_MINUTE,
    maxReplyChars: config.MAX_REPLY_CHARS,
    apologyText: config.APOLOGY_TEXT,
    slowDownText: config.SLOW_DOWN_TEXT,
    mediaTooLargeText: config.MEDIA_TOO_LARGE_TEXT,
    resetConfirmText: config.RESET_CONFIRM_TEXT,
    welcomeText: config.WELCOME_TEXT,
    unsupportedText: config.UNSUPPORTED_TEXT,
    mediaUnsupportedText: config.MEDIA_UNSUPPORTED_TEXT,
    agentAcceptsMedia: config.AGENT_ACCEPTS_MEDIA,
    resetCommands: config.RESET_COMMANDS,
    optOutCommands: config.OPT_OUT_COMMANDS,
    optInCommands: config.OPT_IN_COMMANDS,
    optOutConfirmText: config.OPT_OUT_CONFIRM_TEXT,
    optInConfirmText: config.OPT_IN_CONFIRM_TEXT,
    ...reengagementSettings(config),
    typingRefreshMs: 20_000,
    maxInlineRetryWaitMs: 10_000,
    burstWindowMs: config.BURST_WINDOW_MS,
    burstMaxWaitMs: config.BURST_MAX_WAIT_MS,
    handoffTimeoutMs: config.HANDOFF_TIMEOUT_MINUTES * 60_000,
  };
}

export function reengagementSettings(config: WorkerConfig): ReengagementSettings {
  return {
    ...(config.REENGAGE_TEMPLATE
      ? { reengageTemplate: { name: config.REENGAGE_TEMPLATE, language: config.REENGAGE_TEMPLATE_LANGUAGE } }
      : {}),
    heldReplyTtlMs: config.HELD_REPLY_TTL_HOURS * 3600 * 1000,
  };
}

/**
 * TEXTS_BY_NUMBER as the core applies it. A number's re-engagement template takes the
 * deployment's name or language for the half it does not give; `REENGAGE_TEMPLATE: ""` means none.
 */
export function settingsByNumber(config: WorkerConfig): Record<string, Partial<NumberSettings>> {
  return Object.fromEntries(
    Object.entries(config.TEXTS_BY_NUMBER).map(([number, entry]) => {
      const { reengageTemplateName, reengageTemplateLanguage, ...settings } = entry;
      if (reengageTemplateName === undefined && reengageTemplateLanguage === undefined) return [number, settings];
      const name = reengageTemplateName ?? config.REENGAGE_TEMPLATE;
      const language = reengageTemplateLanguage ?? config.REENGAGE_TEMPLATE_LANGUAGE;
      return [number, { ...settings, reengageTemplate: name ? { name, language } : undefined }];
    }),
  );
}
