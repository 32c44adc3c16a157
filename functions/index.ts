import { http, type HttpFunction } from '@google-cloud/functions-framework';
import { loadConfig, webhookConfigSchema, workerConfigSchema } from '../shared/config/config.js';
import { createLogger } from '../shared/log/logger.js';
import { createRestPublisher } from '../shared/queue/restPublisher.js';
import { createWebhookHandler } from './webhook/webhook.js';
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
  return createWebhookHandler(config, {
    publisher,
    log,
    adminRoutes: () => import('./webhook/admin/loadAdminRoutes.js').then((m) => m.loadAdminRoutes(config, log)),
  });
}

function buildWorker(): HttpFunction {
  const config = loadConfig(workerConfigSchema);
  return createWorkerHandler(config, createLogger('worker', config.LOG_LEVEL));
}

/** Builds on the first request, so an instance that never serves this function never needs its settings. */
function onFirstRequest(build: () => HttpFunction): HttpFunction {
  let handler: HttpFunction | undefined;
  return (req, res) => (handler ??= build())(req, res);
}

/**
 * One package, two functions. Cloud Functions names the deployed one in FUNCTION_TARGET: only
 * it is built, at start, so a missing setting stops the instance with a message naming it, and
 * a webhook instance never loads the worker's heavy modules. Without a known target both are
 * registered and each is built on its first request.
 */
const target = process.env.FUNCTION_TARGET ?? /--target[= ](\S+)/.exec(process.argv.join(' '))?.[1];

if (target === 'webhook') http('webhook', buildWebhook());
else if (target === 'worker') http('worker', buildWorker());
else {
  http('webhook', onFirstRequest(buildWebhook));
  http('worker', onFirstRequest(buildWorker));
}
