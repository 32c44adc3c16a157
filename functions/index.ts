import { http, type HttpFunction } from '@google-cloud/functions-framework';
import { loadConfig, webhookConfigSchema, workerConfigSchema } from '../shared/config/config.js';
import { createLogger, type Logger } from '../shared/log/logger.js';
import { createRestPublisher } from '../shared/queue/restPublisher.js';
import { answerFailuresPlainly } from './answerFailuresPlainly.js';
import { installRequestGuard } from './requestGuard.js';
import { createWebhookHandler, MAX_WEBHOOK_BYTES } from './webhook/webhook.js';
import { createWorkerHandler } from './worker/worker.js';

function buildWebhook(): HttpFunction {
  const config = loadConfig(webhookConfigSchema);
  const log = createLogger('webhook', config.LOG_LEVEL);
  const publisher = createRestPublisher({
    projectId: config.GOOGLE_CLOUD_PROJECT,
    topic: config.PUBSUB_TOPIC,
    timeoutMs: config.PUBLISH_TIMEOUT_MS,
    ...(config.PUBSUB_EMULATOR_HOST ? { emulatorHost: config.PUBSUB_EMULATOR_HOST } : {}),
  });
  const handler = createWebhookHandler(config, {
    publisher,
    log,
    adminRoutes: () => import('./webhook/admin/loadAdminRoutes.js').then((m) => m.loadAdminRoutes(config, log)),
  });
  return answerFailuresPlainly(handler, log);
}

function buildWorker(): HttpFunction {
  const config = loadConfig(workerConfigSchema);
  const log = createLogger('worker', config.LOG_LEVEL);
  return answerFailuresPlainly(createWorkerHandler(config, log), log);
}

/** Builds on the first request, so an instance that never serves this function never needs its settings. */
function onFirstRequest(build: () => HttpFunction, log: Logger): HttpFunction {
  let handler: HttpFunction | undefined;
  return answerFailuresPlainly(async (req, res) => (handler ??= build())(req, res), log);
}

/**
 * One package, two functions. Cloud Functions names the deployed one in FUNCTION_TARGET: only
 * it is built, at start, so a missing setting stops the instance with a message naming it, and
 * a webhook instance never loads the worker's heavy modules. Without a known target both are
 * registered and each is built on its first request.
 */
const target = process.env.FUNCTION_TARGET ?? /--target[= ](\S+)/.exec(process.argv.join(' '))?.[1];

if (target === 'webhook') {
  // Only the webhook is public: its bodies are capped before the framework reads them.
  installRequestGuard({ log: createLogger('webhook'), maxBodyBytes: MAX_WEBHOOK_BYTES });
  http('webhook', buildWebhook());
} else if (target === 'worker') {
  installRequestGuard({ log: createLogger('worker') });
  http('worker', buildWorker());
} else {
  const log = createLogger('functions');
  installRequestGuard({ log });
  http('webhook', onFirstRequest(buildWebhook, log));
  http('worker', onFirstRequest(buildWorker, log));
}
