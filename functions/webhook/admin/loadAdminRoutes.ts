import type { HttpFunction } from '@google-cloud/functions-framework';
import { Firestore } from '@google-cloud/firestore';
import { createVertexAgentClient } from '../../../shared/agent/vertexAgentClient.js';
import type { WebhookConfig } from '../../../shared/config/config.js';
import type { Logger } from '../../../shared/log/logger.js';
import { createFirestoreSessionStore } from '../../../shared/store/firestoreSessionStore.js';
import { createAdminRoutes } from './adminRoutes.js';

/** Builds the admin routes' adapters on first use (Firestore and aiplatform are heavy). */
export function loadAdminRoutes(config: WebhookConfig, log: Logger): HttpFunction {
  const db = new Firestore({ projectId: config.GOOGLE_CLOUD_PROJECT, ignoreUndefinedProperties: true });
  return createAdminRoutes({
    adminToken: config.ADMIN_API_TOKEN ?? '',
    sessions: createFirestoreSessionStore(db),
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
