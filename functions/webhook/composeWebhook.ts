import type { HttpFunction } from '@google-cloud/functions-framework';
import type { WebhookConfig } from '../../shared/config/config.js';
import { createLogger, type Logger } from '../../shared/log/logger.js';
import { createRestPublisher } from '../../shared/queue/restPublisher.js';
import { lazy } from '../lazy.js';
import { requireAdminToken } from './admin/requireAdminToken.js';
import { createWebhookHandler } from './webhook.js';

/**
 * The webhook's composition root: builds its adapters from the validated settings, once per
 * instance. The admin routes' adapters are built on the first authenticated admin request: the
 * message path never loads Firestore or aiplatform.
 */
export function composeWebhook(config: WebhookConfig): HttpFunction {
  const log = createLogger('webhook', config.LOG_LEVEL);
  const publisher = createRestPublisher({
    projectId: config.GOOGLE_CLOUD_PROJECT,
    topic: config.PUBSUB_TOPIC,
    timeoutMs: config.PUBLISH_TIMEOUT_MS,
    emulatorHost: config.PUBSUB_EMULATOR_HOST,
  });
  const adminRoutes = config.ADMIN_API_TOKEN
    ? requireAdminToken(config.ADMIN_API_TOKEN, lazy(() => composeAdminRoutes(config, log)), log)
    : undefined;
  return createWebhookHandler(config, { publisher, log, adminRoutes });
}

async function composeAdminRoutes(config: WebhookConfig, log: Logger): Promise<HttpFunction> {
  const [{ openFirestore }, { createFirestoreSessionStore }, { createVertexAgentClient }, { createAdminRoutes }] =
    await Promise.all([
      import('../../shared/store/openFirestore.js'),
      import('../../shared/store/firestoreSessionStore.js'),
      import('../../shared/agent/vertexAgentClient.js'),
      import('./admin/adminRoutes.js'),
    ]);
  return createAdminRoutes({
    sessions: createFirestoreSessionStore(openFirestore(config.GOOGLE_CLOUD_PROJECT)),
    agent: config.AGENT_ENGINE
      ? createVertexAgentClient({ engine: config.AGENT_ENGINE, apiEndpoint: config.VERTEX_API_ENDPOINT, timeoutMs: 30_000 })
      : undefined,
    log,
  });
}
