import { http } from '@google-cloud/functions-framework';
import { loadConfig, webhookConfigSchema, workerConfigSchema } from '../shared/config/config.js';
import { createLogger } from '../shared/log/logger.js';
import { createRestPublisher } from '../shared/queue/restPublisher.js';
import { createWebhookHandler } from './webhook/webhook.js';
import { createWorkerHandler } from './worker/worker.js';

/**
 * One package, two functions. Only the deployed target is built, so each validates just its
 * own settings at start and a webhook instance never loads the worker's heavy modules.
 */
const target = process.env.FUNCTION_TARGET ?? /--target[= ](\S+)/.exec(process.argv.join(' '))?.[1];

if (!target || target === 'webhook') {
  const config = loadConfig(webhookConfigSchema);
  const log = createLogger('webhook', config.LOG_LEVEL);
  const publisher = createRestPublisher({
    projectId: config.GOOGLE_CLOUD_PROJECT,
    topic: config.PUBSUB_TOPIC,
    timeoutMs: config.PUBLISH_TIMEOUT_MS,
    ...(config.PUBSUB_EMULATOR_HOST ? { emulatorHost: config.PUBSUB_EMULATOR_HOST } : {}),
  });
  http(
    'webhook',
    createWebhookHandler(config, {
      publisher,
      log,
      adminRoutes: () => import('./webhook/admin/loadAdminRoutes.js').then((m) => m.loadAdminRoutes(config, log)),
    }),
  );
}

if (!target || target === 'worker') {
  const config = loadConfig(workerConfigSchema);
  http('worker', createWorkerHandler(config, createLogger('worker', config.LOG_LEVEL)));
}
