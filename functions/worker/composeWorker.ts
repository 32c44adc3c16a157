import type { HttpFunction } from '@google-cloud/functions-framework';
import type { WorkerConfig } from '../../shared/config/config.js';
import { createNumberRoutes } from '../../shared/core/numberRoutes.js';
import { createLogger, type Logger } from '../../shared/log/logger.js';
import { createDeadLetterPublisher } from '../../shared/queue/deadLetterPublisher.js';
import { createRestPublisher, createRestTopic } from '../../shared/queue/restPublisher.js';
import { createTurnDuePublisher } from '../../shared/queue/turnDue.js';
import type { MediaForAgent } from '../../shared/media/agentMedia.js';
import { createCloudStorageBucket } from '../../shared/media/cloudStorageBucket.js';
import { createInlineMedia } from '../../shared/media/inlineMedia.js';
import { createStoredMedia } from '../../shared/media/storedMedia.js';
import { resolveFirestoreFallbackOnce } from '../../shared/store/firestoreFallbackResolution.js';
import { createGraphClient, type MediaSource, type WhatsAppClient } from '../../shared/whatsapp/graphClient.js';
import { answerFailuresPlainly } from '../answerFailuresPlainly.js';
import { lazy } from '../lazy.js';
import type { EchoDeps } from '../../shared/core/conversationHandoff.js';
import type { StatusDeps } from '../../shared/core/recordDeliveryStatus.js';
import type { PushDeps } from './processPush.js';
import { createPushTokenVerifier } from './verifyPushToken.js';
import { createWorkerHandler } from './worker.js';
import { reengagementSettings, settingsByNumber, workerSettings } from './workerSettings.js';

export interface WorkerAdapters {
  /** For inbound messages. */
  deliveries: PushDeps;
  /** For delivery statuses of what the bridge sent. */
  statuses: Omit<StatusDeps, 'log'>;
  /** For what staff wrote from the WhatsApp Business app (hand-off). */
  echoes: Omit<EchoDeps, 'log'>;
}

/**
 * The worker's composition root: builds its adapters from the validated settings, once per
 * instance. Firestore and aiplatform take seconds to load: they load in the background from the
 * start, so the instance answers at once (health, refusals) and a push waits only if it must.
 */
export function composeWorker(config: WorkerConfig): HttpFunction {
  const log = createLogger('worker', config.LOG_LEVEL);
  const deps = lazy(() => composeAdapters(config, log));
  deps().catch((error: unknown) => log.error({ err: error }, 'worker failed to start'));
  warnIfPushUnchecked(config, log);
  warnIfLeaseTooShort(config, log);
  const verifyPush = config.PUSH_AUDIENCE
    ? createPushTokenVerifier(config.PUSH_AUDIENCE, config.PUSH_SERVICE_ACCOUNT)
    : undefined;
  return answerFailuresPlainly(createWorkerHandler({ projectId: config.GOOGLE_CLOUD_PROJECT, log, deps, verifyPush }), log);
}

/** Without PUSH_AUDIENCE (outside the emulator) anyone who can reach the worker's URL can make it answer. */
export function warnIfPushUnchecked(config: Partial<Pick<WorkerConfig, 'PUSH_AUDIENCE' | 'PUBSUB_EMULATOR_HOST'>>, log: Logger): void {
  if (config.PUSH_AUDIENCE || config.PUBSUB_EMULATOR_HOST) return;
  log.warn(
    { setting: 'PUSH_AUDIENCE' },
    'PUSH_AUDIENCE is not set: the worker accepts push requests WITHOUT checking their OIDC token; anyone who can reach its URL can make it answer. Set PUSH_AUDIENCE to the push subscription audience.',
  );
}

/**
 * A delivery's lease must outlast the worker's timeout, or a redelivery of a message still being
 * answered finds the lease expired and answers it a second time. Terraform refuses such settings;
 * this warns a deployment made without it (the reliability tests shorten the lease on purpose).
 */
export function warnIfLeaseTooShort(config: Pick<WorkerConfig, 'PROCESSING_LEASE_SECONDS' | 'WORKER_TIMEOUT_SECONDS'>, log: Logger): void {
  if (config.PROCESSING_LEASE_SECONDS > config.WORKER_TIMEOUT_SECONDS) return;
  log.warn(
    { setting: 'PROCESSING_LEASE_SECONDS', leaseSeconds: config.PROCESSING_LEASE_SECONDS, workerTimeoutSeconds: config.WORKER_TIMEOUT_SECONDS },
    `PROCESSING_LEASE_SECONDS (${config.PROCESSING_LEASE_SECONDS}) is not above WORKER_TIMEOUT_SECONDS (${config.WORKER_TIMEOUT_SECONDS}): a message still being answered when its lease ends can be answered twice. Set the lease above the worker's timeout (Terraform does: PROCESSING_LEASE_SECONDS = timeout + 30).`,
  );
}

/**
 * Media for the agent: copied into MEDIA_BUCKET and passed by gs:// URI; without a bucket, inline
 * (config allows that only with MEDIA_INLINE=true when the agent accepts media).
 */
function mediaForAgent(config: WorkerConfig, whatsapp: WhatsAppClient & MediaSource, log: Logger): MediaForAgent {
  if (config.MEDIA_BUCKET) {
    const bucket = createCloudStorageBucket({
      bucket: config.MEDIA_BUCKET,
      timeoutMs: config.MEDIA_COPY_TIMEOUT_MS,
      emulatorHost: config.STORAGE_EMULATOR_HOST,
    });
    return createStoredMedia({ media: whatsapp, bucket });
  }
  if (config.AGENT_ACCEPTS_MEDIA) {
    log.warn(
      { setting: 'MEDIA_INLINE' },
      'media goes to the agent as base64 inline_data (MEDIA_INLINE=true): a stock ADK agent on Agent Engine is likely to read it as text, not as an image or audio. Set MEDIA_BUCKET instead (README, Media the agent can see).',
    );
  }
  return createInlineMedia({ whatsapp, maxBytes: config.MAX_MEDIA_BYTES });
}

async function composeAdapters(config: WorkerConfig, log: Logger): Promise<WorkerAdapters> {
  // Before Firestore and google-gax load (see the function).
  resolveFirestoreFallbackOnce();
  // Firestore first: a message's path starts with it, and its warm-up's first RPCs can be on the
  // wire while aiplatform, the slowest part to load (synchronous: it blocks the thread), loads.
  const [
    { openFirestore, warmUpFirestore },
    { createFirestoreInboundLedger },
    { createFirestoreRateLimiter },
    { createFirestoreSessionStore },
    { createFirestoreOutboundMessageStore },
    { createFirestoreOptOutStore },
    { createFirestoreHeldReplyStore },
    { createFirestoreConversationWindowStore },
    { createFirestoreBurstBuffer },
    { createFirestoreHandoffStore },
  ] = await Promise.all([
    import('../../shared/store/openFirestore.js'),
    import('../../shared/store/firestoreInboundLedger.js'),
    import('../../shared/store/firestoreRateLimiter.js'),
    import('../../shared/store/firestoreSessionStore.js'),
    import('../../shared/store/firestoreOutboundMessageStore.js'),
    import('../../shared/store/firestoreOptOutStore.js'),
    import('../../shared/store/firestoreHeldReplyStore.js'),
    import('../../shared/store/firestoreConversationWindowStore.js'),
    import('../../shared/store/firestoreBurstBuffer.js'),
    import('../../shared/store/firestoreHandoffStore.js'),
  ]);
  const db = openFirestore(config.GOOGLE_CLOUD_PROJECT);
  warmUpConnection('firestore', () => warmUpFirestore(db), log);
  const { createVertexAgents } = await import('../../shared/agent/vertexAgents.js');
  const whatsapp = createGraphClient({
    baseUrl: config.GRAPH_API_BASE_URL,
    apiVersion: config.GRAPH_API_VERSION,
    accessToken: config.WHATSAPP_ACCESS_TOKEN,
    timeoutMs: config.GRAPH_TIMEOUT_MS,
  });
  const outbound = createFirestoreOutboundMessageStore(db, config.OUTBOUND_RECORD_TTL_DAYS * 24 * 3600 * 1000);
  const optOuts = createFirestoreOptOutStore(db);
  const held = createFirestoreHeldReplyStore(db);
  const windows = createFirestoreConversationWindowStore(db);
  const handoffs = createFirestoreHandoffStore(db);
  const settings = workerSettings(config);
  const topic = (name: string) =>
    createRestTopic({ projectId: config.GOOGLE_CLOUD_PROJECT, topic: name, timeoutMs: 10_000, emulatorHost: config.PUBSUB_EMULATOR_HOST });
  const turnsTopic = (name: string) => createTurnDuePublisher(topic(name));
  const agents = createVertexAgents({
    apiEndpoint: config.VERTEX_API_ENDPOINT,
    timeoutMs: config.AGENT_TIMEOUT_MS,
    maxReplyChars: config.MAX_AGENT_REPLY_CHARS,
  });
  const numbers = createNumberRoutes({
    defaultEngine: config.AGENT_ENGINE,
    enginesByNumber: config.AGENT_ENGINE_BY_NUMBER,
    settingsByNumber: settingsByNumber(config),
    agentFor: agents.agentFor,
  });
  warmUpConnection('agent', () => agents.warmUp([config.AGENT_ENGINE ?? [], Object.values(config.AGENT_ENGINE_BY_NUMBER ?? {})].flat()), log);
  log.info({ sinceStartMs: Math.round(performance.now()) }, 'worker adapters built');
  return {
    deliveries: {
      ledger: createFirestoreInboundLedger(db),
      sessions: createFirestoreSessionStore(db),
      rateLimiter: createFirestoreRateLimiter(db),
      numbers,
      whatsapp,
      media: mediaForAgent(config, whatsapp, log),
      outbound,
      optOuts,
      held,
      windows,
      handoffs,
      log,
      settings,
      maxDeliveryAttempts: config.MAX_DELIVERY_ATTEMPTS,
      // The turns subscription may still push turns queued before bursts were switched off: the buffer always serves them.
      bursts: createFirestoreBurstBuffer(db),
      turns: config.BURST_WINDOW_MS > 0 ? turnsTopic(config.PUBSUB_TURNS_TOPIC) : undefined,
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
      turnDeadLetters: config.TURNS_DEAD_LETTER_TOPIC ? turnsTopic(config.TURNS_DEAD_LETTER_TOPIC) : undefined,
    },
    echoes: { handoffs, windows, outbound, settings: { timeoutMs: settings.handoffTimeoutMs }, now: () => new Date() },
    statuses: {
      outbound,
      optOuts,
      held,
      whatsapp,
      handoffs,
      settings: reengagementSettings(config),
      numbers,
      now: () => new Date(),
    },
  };
}

/**
 * A cold instance's first message would otherwise also pay for the first Firestore RPCs and the
 * first agent call's channel and credentials. Started as the adapters are built, alongside that
 * message's own work, never awaited: a failure only means the first call connects itself.
 */
function warmUpConnection(name: string, open: () => Promise<void>, log: Logger): void {
  const started = Date.now();
  open().then(
    () => log.info({ connection: name, ms: Date.now() - started }, 'connection warmed up'),
    (error: unknown) => log.info({ connection: name, err: error }, 'connection warm-up failed'),
  );
}
