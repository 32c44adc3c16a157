import { LOCAL_AGENT_ENGINE, startLocalAgent, type LocalAgent } from './agent/localAgent.js';
import { DEFAULT_PHONE_NUMBER_ID } from './webhookBodies.js';
import { startWhatsAppSandbox, type WhatsAppSandbox } from './sandbox/whatsappSandbox.js';
import { startCloudStorageStandIn, type CloudStorageStandIn } from './storage/cloudStorageStandIn.js';
import { startEmulators, type RunningEmulators } from './emulators.js';
import { freePorts } from './freePort.js';
import { startFunction, type FunctionProcess } from './functionProcess.js';
import { withProductionNodeOptions } from './productionRuntime.js';
import { ensurePubSubResources, pubsubLayout, type PubSubLayout } from './pubsubResources.js';

export interface LocalStackOptions {
  /** Settings for both functions; defaults to process.env. Unset ports are chosen freely. */
  env?: Record<string, string | undefined>;
  /** Use emulators that are already running at PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST. */
  reuseEmulators?: boolean;
  /** The sandbox POSTs Meta's status webhooks for what the bot sends (npm start does; tests opt in). */
  sandboxStatusWebhooks?: boolean;
  /** Run the bundle in `dist/` (esbuild.config.mjs, what is deployed) instead of the TypeScript sources, with Terraform's NODE_OPTIONS (local/productionRuntime.ts). */
  compiled?: boolean;
  /** Where the stack's and the sandbox's notes go, and the functions' lines unless `functionLog` is set; silent when omitted. */
  log?: (line: string) => void;
  /** Where each line a function writes goes, as written. */
  functionLog?: (target: 'webhook' | 'worker', line: string) => void;
}

export interface LocalStack {
  webhookUrl: string;
  workerUrl: string;
  projectId: string;
  layout: PubSubLayout;
  /** The turns topic and its subscription (bursts of messages becoming one turn). */
  turnsLayout: PubSubLayout;
  /** The settings the functions run with. */
  env: Record<string, string>;
  webhook: FunctionProcess;
  worker: FunctionProcess;
  /** Present when WHATSAPP_ACCESS_TOKEN was not given. */
  sandbox?: WhatsAppSandbox;
  sandboxUrl?: string;
  /** Present when AGENT_ENGINE was not given. */
  agent?: LocalAgent;
  /** The Cloud Storage stand-in holding MEDIA_BUCKET; absent when a real bucket was given (MEDIA_BUCKET without STORAGE_EMULATOR_HOST). */
  storage?: CloudStorageStandIn;
  /** Restarts one function (e.g. after a test killed it). */
  restart(target: 'webhook' | 'worker'): Promise<FunctionProcess>;
  stop(): Promise<void>;
}

export const LOCAL_DEFAULTS = {
  GOOGLE_CLOUD_PROJECT: 'local-project',
  WHATSAPP_VERIFY_TOKEN: 'local-verify-token',
  WHATSAPP_APP_SECRET: 'local-app-secret',
  LOCAL_ACCESS_TOKEN: 'local-access-token',
  PUBSUB_EMULATOR_HOST: '127.0.0.1:8085',
  FIRESTORE_EMULATOR_HOST: '127.0.0.1:8086',
  MEDIA_BUCKET: 'local-media',
} as const;

/**
 * Everything `npm start` runs, on loopback: emulators, topics and the ordered push subscription
 * with its dead-letter topic, both functions, and local stand-ins for the agent and WhatsApp
 * when no real ones are configured. Every port and endpoint comes from the environment.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const given = options.env ?? process.env;
  const say = options.log ?? (() => {});
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };

  try {
    const projectId = given.GOOGLE_CLOUD_PROJECT || LOCAL_DEFAULTS.GOOGLE_CLOUD_PROJECT;
    const pubsubHost = given.PUBSUB_EMULATOR_HOST || LOCAL_DEFAULTS.PUBSUB_EMULATOR_HOST;
    const firestoreHost = given.FIRESTORE_EMULATOR_HOST || LOCAL_DEFAULTS.FIRESTORE_EMULATOR_HOST;
    if (!options.reuseEmulators) {
      const emulators: RunningEmulators = await startEmulators({ pubsubHost, firestoreHost, projectId, log: say });
      cleanups.push(emulators.stop);
    }
    // The Pub/Sub client in this process (topic set-up) must talk to the emulator too.
    process.env.PUBSUB_EMULATOR_HOST = pubsubHost;
    process.env.FIRESTORE_EMULATOR_HOST = firestoreHost;

    const appSecret = given.WHATSAPP_APP_SECRET ?? LOCAL_DEFAULTS.WHATSAPP_APP_SECRET;
    const [freeWebhookPort, freeWorkerPort] = await freePorts(2);
    const webhookPort = Number(given.WEBHOOK_PORT) || freeWebhookPort!;
    const workerPort = Number(given.WORKER_PORT) || freeWorkerPort!;
    const webhookUrl = `http://127.0.0.1:${webhookPort}/webhook`;

    const env: Record<string, string> = {
      ...definedOnly(given),
      GOOGLE_CLOUD_PROJECT: projectId,
      PUBSUB_EMULATOR_HOST: pubsubHost,
      FIRESTORE_EMULATOR_HOST: firestoreHost,
      WHATSAPP_VERIFY_TOKEN: given.WHATSAPP_VERIFY_TOKEN || LOCAL_DEFAULTS.WHATSAPP_VERIFY_TOKEN,
      WHATSAPP_APP_SECRET: appSecret,
      PUBSUB_TOPIC: given.PUBSUB_TOPIC || 'whatsapp-inbound',
      PUBSUB_TURNS_TOPIC: given.PUBSUB_TURNS_TOPIC || 'whatsapp-turns',
      MAX_DELIVERY_ATTEMPTS: given.MAX_DELIVERY_ATTEMPTS || '5',
    };

    let storage: CloudStorageStandIn | undefined;
    if (!given.MEDIA_BUCKET || given.STORAGE_EMULATOR_HOST) {
      const bucket = given.MEDIA_BUCKET || LOCAL_DEFAULTS.MEDIA_BUCKET;
      const address = given.STORAGE_EMULATOR_HOST ? new URL(/^https?:\/\//.test(given.STORAGE_EMULATOR_HOST) ? given.STORAGE_EMULATOR_HOST : `http://${given.STORAGE_EMULATOR_HOST}`) : undefined;
      storage = await startCloudStorageStandIn({
        buckets: [bucket],
        host: address?.hostname ?? '127.0.0.1',
        port: Number(address?.port) || 0,
        log: say,
      });
      cleanups.push(() => storage!.close());
      env.MEDIA_BUCKET = bucket;
      env.STORAGE_EMULATOR_HOST = storage.url;
      say(`Cloud Storage stand-in on ${storage.url} (bucket ${bucket})`);
    }

    let agent: LocalAgent | undefined;
    if (!given.AGENT_ENGINE) {
      agent = await startLocalAgent({
        host: '127.0.0.1',
        port: Number(given.LOCAL_AGENT_PORT) || 0,
        // It also answers as every agent of AGENT_ENGINE_BY_NUMBER, each with its own sessions: several numbers, locally.
        engines: [LOCAL_AGENT_ENGINE, ...enginesOfMap(given.AGENT_ENGINE_BY_NUMBER)],
        ...(env.STORAGE_EMULATOR_HOST ? { storageEndpoint: env.STORAGE_EMULATOR_HOST } : {}),
      });
      cleanups.push(() => agent!.close());
      env.AGENT_ENGINE = agent.engine;
      env.VERTEX_API_ENDPOINT = agent.endpoint;
      say(`local agent (Agent Engine gRPC protocol) on ${agent.endpoint}${agent.engines.length > 1 ? `, answering as ${agent.engines.length} agents` : ''}`);
    }

    let sandbox: WhatsAppSandbox | undefined;
    if (!given.WHATSAPP_ACCESS_TOKEN) {
      sandbox = await startWhatsAppSandbox({
        host: '127.0.0.1',
        port: Number(given.SANDBOX_PORT) || 0,
        accessToken: LOCAL_DEFAULTS.LOCAL_ACCESS_TOKEN,
        appSecret,
        webhookUrl,
        statusWebhooks: options.sandboxStatusWebhooks ?? false,
        // The chat page lets a user write to each business number the worker routes (AGENT_ENGINE_BY_NUMBER).
        businessNumbers: [...new Set([DEFAULT_PHONE_NUMBER_ID, ...numbersOfMap(given.AGENT_ENGINE_BY_NUMBER)])],
        log: say,
      });
      cleanups.push(() => sandbox!.close());
      env.WHATSAPP_ACCESS_TOKEN = LOCAL_DEFAULTS.LOCAL_ACCESS_TOKEN;
      env.GRAPH_API_BASE_URL = sandbox.url;
    }

    const layout = pubsubLayout(env.PUBSUB_TOPIC!);
    // The emulator sends no deliveryAttempt and never dead-letters from an ordered subscription
    // (it stalls it instead), so the worker dead-letters by its own count and the subscription's
    // policy is only a backstop at the maximum.
    env.DEAD_LETTER_TOPIC = layout.deadLetterTopic;
    const turnsLayout = pubsubLayout(env.PUBSUB_TURNS_TOPIC!);
    env.TURNS_DEAD_LETTER_TOPIC = turnsLayout.deadLetterTopic;
    for (const each of [layout, turnsLayout]) {
      await ensurePubSubResources({
        projectId,
        layout: each,
        pushEndpoint: `http://127.0.0.1:${workerPort}/`,
        maxDeliveryAttempts: 100,
        ackDeadlineSeconds: Number(given.ACK_DEADLINE_SECONDS) || 60,
      });
    }

    const processes: Record<'webhook' | 'worker', FunctionProcess | undefined> = { webhook: undefined, worker: undefined };
    const launch = async (target: 'webhook' | 'worker') => {
      processes[target] = await startFunction({
        target,
        port: target === 'webhook' ? webhookPort : workerPort,
        // What deploys runs with Terraform's heap cap (NODE_OPTIONS), here too.
        env: options.compiled ? { ...env, NODE_OPTIONS: withProductionNodeOptions(target, env.NODE_OPTIONS) } : env,
        ...(options.compiled ? { compiled: true } : {}),
        onLine: options.functionLog
          ? (line) => options.functionLog!(target, line)
          : options.log
            ? (line) => say(`[${target}] ${line}`)
            : undefined,
      });
      return processes[target]!;
    };
    cleanups.push(async () => {
      await Promise.all([processes.webhook?.stop(), processes.worker?.stop()]);
    });
    await Promise.all([launch('webhook'), launch('worker')]);

    return {
      webhookUrl,
      workerUrl: processes.worker!.url,
      projectId,
      layout,
      turnsLayout,
      env,
      get webhook() {
        return processes.webhook!;
      },
      get worker() {
        return processes.worker!;
      },
      ...(sandbox ? { sandbox, sandboxUrl: `${sandbox.url}/` } : {}),
      ...(agent ? { agent } : {}),
      ...(storage ? { storage } : {}),
      async restart(target) {
        await processes[target]?.stop();
        return launch(target);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The engines AGENT_ENGINE_BY_NUMBER names; a malformed map is left for the functions' own validation to report. */
function enginesOfMap(raw: string | undefined): string[] {
  return Object.values(mapOf(raw)).filter((engine): engine is string => typeof engine === 'string');
}

/** The business numbers AGENT_ENGINE_BY_NUMBER names. */
function numbersOfMap(raw: string | undefined): string[] {
  return Object.keys(mapOf(raw));
}

function mapOf(raw: string | undefined): Record<string, unknown> {
  try {
    const map: unknown = JSON.parse(raw || '{}');
    return typeof map === 'object' && map !== null && !Array.isArray(map) ? (map as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
