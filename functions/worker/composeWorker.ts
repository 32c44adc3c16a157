import type { HttpFunction } from '@google-cloud/functions-framework';
import { createVertexAgentClient } from '../../shared/agent/vertexAgentClient.js';
import type { WorkerConfig } from '../../shared/config/config.js';
import { createLogger } from '../../shared/log/logger.js';
import { createDeadLetterPublisher } from '../../shared/queue/deadLetterPublisher.js';
import { createRestPublisher } from '../../shared/queue/restPublisher.js';
import { createFirestoreInboundLedger } from '../../shared/store/firestoreInboundLedger.js';
import { createFirestoreRateLimiter } from '../../shared/store/firestoreRateLimiter.js';
import { createFirestoreSessionStore } from '../../shared/store/firestoreSessionStore.js';
import { openFirestore } from '../../shared/store/openFirestore.js';
import { createGraphClient } from '../../shared/whatsapp/graphClient.js';
import type { PushDeps } from './processPush.js';
import { createPushTokenVerifier } from './verifyPushToken.js';
import { createWorkerHandler } from './worker.js';
import { workerSettings } from './workerSettings.js';

/**
 * The worker's composition root: builds its adapters from the validated settings, once per
 * instance. Loaded only where the worker runs: it pulls in Firestore and aiplatform.
 */
export function composeWorker(config: WorkerConfig): HttpFunction {
  const log = createLogger('worker', config.LOG_LEVEL);
  const db = openFirestore(config.GOOGLE_CLOUD_PROJECT);
  const deps: PushDeps = {
    ledger: createFirestoreInboundLedger(db),
    sessions: createFirestoreSessionStore(db),
    rateLimiter: createFirestoreRateLimiter(db),
    agent: createVertexAgentClient({
      engine: config.AGENT_ENGINE,
      apiEndpoint: config.VERTEX_API_ENDPOINT,
      timeoutMs: config.AGENT_TIMEOUT_MS,
    }),
    whatsapp: createGraphClient({
      baseUrl: config.GRAPH_API_BASE_URL,
      apiVersion: config.GRAPH_API_VERSION,
      accessToken: config.WHATSAPP_ACCESS_TOKEN,
      timeoutMs: config.GRAPH_TIMEOUT_MS,
    }),
    log,
    settings: workerSettings(config),
    maxDeliveryAttempts: config.MAX_DELIVERY_ATTEMPTS,
    deadLetters: config.DEAD_LETTER_TOPIC
      ? createDeadLetterPublisher(
          createRestPublisher({
            projectId: config.GOOGLE_CLOUD_PROJECT,
            topic: config.DEAD_LETTER_TOPIC,
            timeoutMs: 10_000,
            emulatorHost: config.PUBSUB_EMULATOR_HOST,
          }),
        )
      : undefined,
  };
  const verifyPush = config.PUSH_AUDIENCE
    ? createPushTokenVerifier(config.PUSH_AUDIENCE, config.PUSH_SERVICE_ACCOUNT)
    : undefined;
  return createWorkerHandler({ projectId: config.GOOGLE_CLOUD_PROJECT, deps, verifyPush });
}
