import { Firestore } from '@google-cloud/firestore';
import { createVertexAgentClient } from '../../shared/agent/vertexAgentClient.js';
import { createDeadLetterPublisher } from '../../shared/queue/deadLetterPublisher.js';
import type { WorkerConfig } from '../../shared/config/config.js';
import type { BurstDeps } from '../../shared/core/bufferDelivery.js';
import type { WorkerDeps } from '../../shared/core/processDelivery.js';
import { createTurnDuePublisher, type TurnDuePublisher } from '../../shared/queue/turnDue.js';
import { createFirestoreBurstBuffer } from '../../shared/store/firestoreBurstBuffer.js';
import type { StatusDeps } from '../../shared/core/recordDeliveryStatus.js';
import type { Logger } from '../../shared/log/logger.js';
import { createFirestoreConversationWindowStore } from '../../shared/store/firestoreConversationWindowStore.js';
import { createFirestoreHeldReplyStore } from '../../shared/store/firestoreHeldReplyStore.js';
import { createFirestoreInboundLedger } from '../../shared/store/firestoreInboundLedger.js';
import { createFirestoreOptOutStore } from '../../shared/store/firestoreOptOutStore.js';
import { createFirestoreOutboundMessageStore } from '../../shared/store/firestoreOutboundMessageStore.js';
import { createFirestoreRateLimiter } from '../../shared/store/firestoreRateLimiter.js';
import { createFirestoreSessionStore } from '../../shared/store/firestoreSessionStore.js';
import { createGraphClient } from '../../shared/whatsapp/graphClient.js';
import { reengagementSettings, workerSettings } from './workerSettings.js';

export interface WorkerAdapters {
  /** For inbound messages. */
  deliveries: WorkerDeps;
  /** For delivery statuses of what the bridge sent. */
  statuses: Omit<StatusDeps, 'log'>;
  /** Bursts: the buffer, where turn-dues are queued (only with bursts on) and, without Pub/Sub's policy, dead-lettered. */
  bursts: Pick<BurstDeps, 'bursts'> & Partial<Pick<BurstDeps, 'turns'>> & { turnDeadLetters?: TurnDuePublisher };
}

/** The worker's adapters, built once per instance. Loaded lazily: it pulls in Firestore and aiplatform. */
export function createWorkerDeps(config: WorkerConfig, log: Logger): WorkerAdapters {
  const db = new Firestore({ projectId: config.GOOGLE_CLOUD_PROJECT, ignoreUndefinedProperties: true });
  const whatsapp = createGraphClient({
    baseUrl: config.GRAPH_API_BASE_URL,
    apiVersion: config.GRAPH_API_VERSION,
    accessToken: config.WHATSAPP_ACCESS_TOKEN,
    timeoutMs: config.GRAPH_TIMEOUT_MS,
  });
  const outbound = createFirestoreOutboundMessageStore(db, config.OUTBOUND_RECORD_TTL_DAYS * 24 * 3600 * 1000);
  const optOuts = createFirestoreOptOutStore(db);
  const held = createFirestoreHeldReplyStore(db);
  const turnsTopic = (topic: string) => createTurnDuePublisher({ projectId: config.GOOGLE_CLOUD_PROJECT, topic });
  return {
    // The turns subscription may still push turns queued before bursts were switched off: the buffer always serves them.
    bursts: {
      bursts: createFirestoreBurstBuffer(db),
      ...(config.BURST_WINDOW_MS > 0 ? { turns: turnsTopic(config.PUBSUB_TURNS_TOPIC) } : {}),
      ...(config.TURNS_DEAD_LETTER_TOPIC ? { turnDeadLetters: turnsTopic(config.TURNS_DEAD_LETTER_TOPIC) } : {}),
    },
    deliveries: {
      ledger: createFirestoreInboundLedger(db),
      sessions: createFirestoreSessionStore(db),
      rateLimiter: createFirestoreRateLimiter(db),
      agent: createVertexAgentClient({
        engine: config.AGENT_ENGINE,
        ...(config.VERTEX_API_ENDPOINT ? { apiEndpoint: config.VERTEX_API_ENDPOINT } : {}),
        timeoutMs: config.AGENT_TIMEOUT_MS,
        maxReplyChars: config.MAX_AGENT_REPLY_CHARS,
      }),
      whatsapp,
      outbound,
      optOuts,
      held,
      windows: createFirestoreConversationWindowStore(db),
      log,
      settings: workerSettings(config),
      ...(config.DEAD_LETTER_TOPIC
        ? { deadLetters: createDeadLetterPublisher({ projectId: config.GOOGLE_CLOUD_PROJECT, topic: config.DEAD_LETTER_TOPIC }) }
        : {}),
    },
    statuses: {
      outbound,
      optOuts,
      held,
      whatsapp,
      settings: reengagementSettings(config),
      now: () => new Date(),
    },
  };
}
