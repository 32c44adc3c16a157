import type { HttpFunction } from '@google-cloud/functions-framework';
import { Firestore } from '@google-cloud/firestore';
import { createVertexAgentClient } from '../../../shared/agent/vertexAgentClient.js';
import type { WebhookConfig } from '../../../shared/config/config.js';
import type { Logger } from '../../../shared/log/logger.js';
import { createFirestoreConversationWindowStore } from '../../../shared/store/firestoreConversationWindowStore.js';
import { createFirestoreIdempotencyKeyStore } from '../../../shared/store/firestoreIdempotencyKeyStore.js';
import { createFirestoreOptOutStore } from '../../../shared/store/firestoreOptOutStore.js';
import { createFirestoreOutboundMessageStore } from '../../../shared/store/firestoreOutboundMessageStore.js';
import { createFirestoreSessionStore } from '../../../shared/store/firestoreSessionStore.js';
import { createGraphClient } from '../../../shared/whatsapp/graphClient.js';
import { createAdminRoutes } from './adminRoutes.js';
import { createMessageRoutes } from './messageRoutes.js';

/** Builds the admin routes' adapters on first use (Firestore and aiplatform are heavy). */
export function loadAdminRoutes(config: WebhookConfig, log: Logger): HttpFunction {
  const db = new Firestore({ projectId: config.GOOGLE_CLOUD_PROJECT, ignoreUndefinedProperties: true });
  const optOuts = createFirestoreOptOutStore(db);
  const outbound = createFirestoreOutboundMessageStore(db, config.OUTBOUND_RECORD_TTL_DAYS * 24 * 3600 * 1000);
  const messages = createMessageRoutes({
    outbound,
    ...(config.WHATSAPP_ACCESS_TOKEN
      ? {
          proactive: {
            windows: createFirestoreConversationWindowStore(db),
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
          },
        }
      : {}),
  });
  return createAdminRoutes({
    adminToken: config.ADMIN_API_TOKEN ?? '',
    sessions: createFirestoreSessionStore(db),
    optOuts,
    messages,
    ...(config.AGENT_ENGINE
      ? {
          agent: createVertexAgentClient({
            engine: config.AGENT_ENGINE,
            ...(config.VERTEX_API_ENDPOINT ? { apiEndpoint: config.VERTEX_API_ENDPOINT } : {}),
            timeoutMs: 30_000,
          }),
        }
      : {}),
    log,
  });
}
