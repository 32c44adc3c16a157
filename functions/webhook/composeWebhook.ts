import type { HttpFunction } from '@google-cloud/functions-framework';
import type { WebhookConfig } from '../../shared/config/config.js';
import type { ProactiveDeps } from '../../shared/core/sendProactiveMessage.js';
import { createLogger, type Logger } from '../../shared/log/logger.js';
import { createRestPublisher } from '../../shared/queue/restPublisher.js';
import { answerFailuresPlainly } from '../answerFailuresPlainly.js';
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
  return answerFailuresPlainly(createWebhookHandler(config, { publisher, log, adminRoutes }), log);
}

async function composeAdminRoutes(config: WebhookConfig, log: Logger): Promise<HttpFunction> {
  const [
    { openFirestore },
    { createFirestoreSessionStore },
    { createFirestoreOptOutStore },
    { createFirestoreOutboundMessageStore },
    { createFirestoreConversationWindowStore },
    { createFirestoreIdempotencyKeyStore },
    { createVertexAgents },
    { agentEngineFor },
    { createGraphClient },
    { createAdminRoutes },
    { createMessageRoutes },
    { createFirestoreHandoffStore },
    { createHandoffRoutes },
  ] = await Promise.all([
    import('../../shared/store/openFirestore.js'),
    import('../../shared/store/firestoreSessionStore.js'),
    import('../../shared/store/firestoreOptOutStore.js'),
    import('../../shared/store/firestoreOutboundMessageStore.js'),
    import('../../shared/store/firestoreConversationWindowStore.js'),
    import('../../shared/store/firestoreIdempotencyKeyStore.js'),
    import('../../shared/agent/vertexAgents.js'),
    import('../../shared/core/numberRoutes.js'),
    import('../../shared/whatsapp/graphClient.js'),
    import('./admin/adminRoutes.js'),
    import('./admin/messageRoutes.js'),
    import('../../shared/store/firestoreHandoffStore.js'),
    import('./admin/handoffRoutes.js'),
  ]);
  const db = openFirestore(config.GOOGLE_CLOUD_PROJECT);
  const optOuts = createFirestoreOptOutStore(db);
  const outbound = createFirestoreOutboundMessageStore(db, config.OUTBOUND_RECORD_TTL_DAYS * 24 * 3600 * 1000);
  const windows = createFirestoreConversationWindowStore(db);
  const proactive: ProactiveDeps | undefined = config.WHATSAPP_ACCESS_TOKEN
    ? {
        windows,
        optOuts,
        outbound,
        idempotency: createFirestoreIdempotencyKeyStore(db),
        whatsapp: createGraphClient({
          baseUrl: config.GRAPH_API_BASE_URL,
          apiVersion: config.GRAPH_API_VERSION,
          accessToken: config.WHATSAPP_ACCESS_TOKEN,
          timeoutMs: config.GRAPH_TIMEOUT_MS,
        }),
        log,
        now: () => new Date(),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        maxInlineRetryWaitMs: 10_000,
      }
    : undefined;
  const messages = createMessageRoutes({ outbound, proactive });
  const handoff = createHandoffRoutes({
    handoffs: createFirestoreHandoffStore(db),
    windows,
    settings: { timeoutMs: config.HANDOFF_TIMEOUT_MINUTES * 60_000 },
    proactive,
    log,
    now: () => new Date(),
  });
  const agents = createVertexAgents({ apiEndpoint: config.VERTEX_API_ENDPOINT, timeoutMs: 30_000 });
  return createAdminRoutes({
    sessions: createFirestoreSessionStore(db),
    optOuts,
    messages,
    agentFor: (phoneNumberId) => {
      const engine = agentEngineFor(phoneNumberId, { defaultEngine: config.AGENT_ENGINE, enginesByNumber: config.AGENT_ENGINE_BY_NUMBER });
      return engine ? agents.agentFor(engine) : undefined;
    },
    handoff,
    log,
  });
}
