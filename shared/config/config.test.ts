import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, webhookConfigSchema, workerConfigSchema } from './config.js';

const webhookEnv = {
  GOOGLE_CLOUD_PROJECT: 'p',
  WHATSAPP_VERIFY_TOKEN: 'verify-token',
  WHATSAPP_APP_SECRET: 'app-secret',
};

const workerEnv = {
  GOOGLE_CLOUD_PROJECT: 'p',
  WHATSAPP_ACCESS_TOKEN: 'access-token',
  AGENT_ENGINE: 'projects/p/locations/us-central1/reasoningEngines/123',
};

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

/** The variable names a ConfigError lists, one per line. */
function namedIn(error: ConfigError): string[] {
  return [...error.message.matchAll(/^ {2}(\S+):/gm)].map((match) => match[1]!).sort();
}

describe('loadConfig: webhook', () => {
  it('accepts a production configuration and applies the defaults', () => {
    const config = loadConfig(webhookConfigSchema, webhookEnv);
    expect(config.WHATSAPP_APP_SECRET).toBe('app-secret');
    expect(config.ALLOW_UNSIGNED_WEBHOOKS).toBe(false);
    expect(config.PUBSUB_TOPIC).toBe('whatsapp-inbound');
    expect(config.ADMIN_API_TOKEN).toBeUndefined();
  });

  it('names every missing variable at once, the app secret included', () => {
    expect(namedIn(errorOf(() => loadConfig(webhookConfigSchema, {})))).toEqual([
      'GOOGLE_CLOUD_PROJECT',
      'WHATSAPP_APP_SECRET',
      'WHATSAPP_VERIFY_TOKEN',
    ]);
  });

  it('refuses to start without WHATSAPP_APP_SECRET, or with an empty one', () => {
    const { WHATSAPP_APP_SECRET: _, ...withoutSecret } = webhookEnv;
    expect(namedIn(errorOf(() => loadConfig(webhookConfigSchema, withoutSecret)))).toEqual(['WHATSAPP_APP_SECRET']);
    expect(namedIn(errorOf(() => loadConfig(webhookConfigSchema, { ...webhookEnv, WHATSAPP_APP_SECRET: '' })))).toEqual([
      'WHATSAPP_APP_SECRET',
    ]);
    // The emulator host alone does not switch signatures off.
    expect(
      namedIn(errorOf(() => loadConfig(webhookConfigSchema, { ...withoutSecret, PUBSUB_EMULATOR_HOST: '127.0.0.1:8085' }))),
    ).toEqual(['WHATSAPP_APP_SECRET']);
  });

  it('allows unsigned webhooks only with ALLOW_UNSIGNED_WEBHOOKS=true and the Pub/Sub emulator', () => {
    const { WHATSAPP_APP_SECRET: _, ...withoutSecret } = webhookEnv;
    const unsigned = loadConfig(webhookConfigSchema, {
      ...withoutSecret,
      ALLOW_UNSIGNED_WEBHOOKS: 'true',
      PUBSUB_EMULATOR_HOST: '127.0.0.1:8085',
    });
    expect(unsigned.WHATSAPP_APP_SECRET).toBeUndefined();
    expect(unsigned.ALLOW_UNSIGNED_WEBHOOKS).toBe(true);

    const inProduction = errorOf(() => loadConfig(webhookConfigSchema, { ...withoutSecret, ALLOW_UNSIGNED_WEBHOOKS: 'true' }));
    expect(namedIn(inProduction)).toEqual(['ALLOW_UNSIGNED_WEBHOOKS']);
    expect(inProduction.message).toContain('PUBSUB_EMULATOR_HOST');
  });

  it('rejects a flag that is not a boolean instead of reading it as false', () => {
    expect(namedIn(errorOf(() => loadConfig(webhookConfigSchema, { ...webhookEnv, ALLOW_UNSIGNED_WEBHOOKS: 'yes' })))).toEqual([
      'ALLOW_UNSIGNED_WEBHOOKS',
    ]);
  });

  it('treats an empty ADMIN_API_TOKEN as unset (admin routes off), never as an empty password', () => {
    expect(loadConfig(webhookConfigSchema, { ...webhookEnv, ADMIN_API_TOKEN: '' }).ADMIN_API_TOKEN).toBeUndefined();
    expect(loadConfig(webhookConfigSchema, { ...webhookEnv, ADMIN_API_TOKEN: 'adm' }).ADMIN_API_TOKEN).toBe('adm');
  });

  it('does not echo secret values in the error', () => {
    const error = errorOf(() =>
      loadConfig(webhookConfigSchema, { WHATSAPP_APP_SECRET: 'super-secret-value', ADMIN_API_TOKEN: 'admin-secret-value' }),
    );
    expect(error.message).not.toContain('super-secret-value');
    expect(error.message).not.toContain('admin-secret-value');
  });
});

describe('loadConfig: worker', () => {
  it('accepts a minimal configuration with the documented defaults', () => {
    const config = loadConfig(workerConfigSchema, workerEnv);
    expect(config.SESSION_TTL_HOURS).toBe(24);
    expect(config.USER_RATE_LIMIT_PER_MINUTE).toBe(10);
    expect(config.MAX_DELIVERY_ATTEMPTS).toBe(5);
    expect(config.GRAPH_API_BASE_URL).toBe('https://graph.facebook.com');
    expect(config.PUSH_AUDIENCE).toBeUndefined();
  });

  it('pauses a handed-off conversation for 60 minutes without staff activity by default, on both functions', () => {
    expect(loadConfig(workerConfigSchema, workerEnv).HANDOFF_TIMEOUT_MINUTES).toBe(60);
    expect(loadConfig(webhookConfigSchema, { ...webhookEnv, HANDOFF_TIMEOUT_MINUTES: '15' }).HANDOFF_TIMEOUT_MINUTES).toBe(15);
    for (const bad of ['0', '1.5', 'hour', String(7 * 24 * 60 + 1)]) {
      expect(namedIn(errorOf(() => loadConfig(workerConfigSchema, { ...workerEnv, HANDOFF_TIMEOUT_MINUTES: bad }))), bad).toEqual(['HANDOFF_TIMEOUT_MINUTES']);
    }
  });

  it('turns bursts on by default and validates their settings', () => {
    const config = loadConfig(workerConfigSchema, workerEnv);
    expect(config).toMatchObject({ BURST_WINDOW_MS: 2000, BURST_MAX_WAIT_MS: 8000, PUBSUB_TURNS_TOPIC: 'whatsapp-turns' });
    expect(loadConfig(workerConfigSchema, { ...workerEnv, BURST_WINDOW_MS: '0', BURST_MAX_WAIT_MS: '0' }).BURST_WINDOW_MS).toBe(0);
    expect(namedIn(errorOf(() => loadConfig(workerConfigSchema, { ...workerEnv, BURST_WINDOW_MS: '-1' })))).toEqual(['BURST_WINDOW_MS']);
    expect(namedIn(errorOf(() => loadConfig(workerConfigSchema, { ...workerEnv, BURST_WINDOW_MS: 'soon' })))).toEqual(['BURST_WINDOW_MS']);
    const capBelowWindow = errorOf(() => loadConfig(workerConfigSchema, { ...workerEnv, BURST_WINDOW_MS: '3000', BURST_MAX_WAIT_MS: '1000' }));
    expect(namedIn(capBelowWindow)).toEqual(['BURST_MAX_WAIT_MS']);
    expect(capBelowWindow.message).toMatch(/at least BURST_WINDOW_MS \(3000\)/);
  });

  it("refuses to start when one delivery's time budget does not fit in the worker's timeout, naming every setting in it", () => {
    const media = { ...workerEnv, AGENT_ACCEPTS_MEDIA: 'true', MEDIA_BUCKET: 'b' };
    // The defaults fit, media and bursts on: 8 + 15 + 15 + 240 + 15 = 293 s of 300.
    expect(loadConfig(workerConfigSchema, media)).toMatchObject({ WORKER_TIMEOUT_SECONDS: 300, MEDIA_COPY_TIMEOUT_MS: 15_000 });

    const slowGraph = errorOf(() => loadConfig(workerConfigSchema, { ...media, GRAPH_TIMEOUT_MS: '20000' }));
    expect(namedIn(slowGraph)).toEqual(['WORKER_TIMEOUT_SECONDS']);
    expect(slowGraph.message).toContain(
      'WORKER_TIMEOUT_SECONDS: 300 s is less than one delivery\'s time budget (BURST_MAX_WAIT_MS 8000 ms + media lookup max(GRAPH_TIMEOUT_MS, MEDIA_COPY_TIMEOUT_MS) 20000 ms + media copy MEDIA_COPY_TIMEOUT_MS 15000 ms + AGENT_TIMEOUT_MS 240000 ms + first reply GRAPH_TIMEOUT_MS 20000 ms = 303000 ms)',
    );
    // Without media and bursts the same timeouts fit; a longer timeout makes room for them.
    expect(loadConfig(workerConfigSchema, { ...workerEnv, GRAPH_TIMEOUT_MS: '20000', BURST_WINDOW_MS: '0' }).GRAPH_TIMEOUT_MS).toBe(20_000);
    expect(loadConfig(workerConfigSchema, { ...media, GRAPH_TIMEOUT_MS: '20000', WORKER_TIMEOUT_SECONDS: '310' }).GRAPH_TIMEOUT_MS).toBe(20_000);
    expect(namedIn(errorOf(() => loadConfig(workerConfigSchema, { ...workerEnv, AGENT_TIMEOUT_MS: '300000' })))).toEqual(['WORKER_TIMEOUT_SECONDS']);
  });

  it('names every missing variable at once', () => {
    expect(namedIn(errorOf(() => loadConfig(workerConfigSchema, {})))).toEqual([
      'AGENT_ENGINE',
      'GOOGLE_CLOUD_PROJECT',
      'WHATSAPP_ACCESS_TOKEN',
    ]);
  });

  it('names every bad value at once, alongside the missing ones', () => {
    const error = errorOf(() =>
      loadConfig(workerConfigSchema, {
        GOOGLE_CLOUD_PROJECT: 'p',
        AGENT_ENGINE: 'my-agent',
        GRAPH_API_VERSION: 'latest',
        SESSION_TTL_HOURS: '0',
        USER_RATE_LIMIT_PER_MINUTE: 'ten',
        MAX_DELIVERY_ATTEMPTS: '3',
      }),
    );
    expect(namedIn(error)).toEqual([
      'AGENT_ENGINE',
      'GRAPH_API_VERSION',
      'MAX_DELIVERY_ATTEMPTS',
      'SESSION_TTL_HOURS',
      'USER_RATE_LIMIT_PER_MINUTE',
      'WHATSAPP_ACCESS_TOKEN',
    ]);
    expect(error.message).toMatch(/^Invalid configuration:/);
    expect(error.message).toContain('WHATSAPP_ACCESS_TOKEN: required but not set');
  });

  it('reads SESSION_TTL_HOURS, USER_RATE_LIMIT_PER_MINUTE and PUSH_AUDIENCE from the environment', () => {
    const config = loadConfig(workerConfigSchema, {
      ...workerEnv,
      SESSION_TTL_HOURS: '2',
      USER_RATE_LIMIT_PER_MINUTE: '3',
      PUSH_AUDIENCE: 'https://worker.example.run.app',
    });
    expect(config.SESSION_TTL_HOURS).toBe(2);
    expect(config.USER_RATE_LIMIT_PER_MINUTE).toBe(3);
    expect(config.PUSH_AUDIENCE).toBe('https://worker.example.run.app');
  });
});
