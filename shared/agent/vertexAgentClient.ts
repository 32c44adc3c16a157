// The one client module and the Value helpers, not the package's index: that loads every v1 and
// v1beta1 client and 16 MB of generated message classes (bench/README.md, Memory).
import { fromValue, toValue } from '@google-cloud/aiplatform/build/src/helpers.js';
import { ReasoningEngineExecutionServiceClient } from '@google-cloud/aiplatform/build/src/v1/reasoning_engine_execution_service_client.js';
import type { protos } from '@google-cloud/aiplatform';
import * as grpc from '@grpc/grpc-js';
import { PassThroughClient } from 'google-auth-library';
import { PermanentError, RetryableError } from '../errors.js';
import { agentMessage } from './agentMessage.js';
import { capReplyParts } from './capReplyText.js';
import { SessionNotFoundError, type AgentClient, type AgentTurn } from './agentClient.js';
import { WHATSAPP_TOOL_PARAMETERS } from '../whatsapp/rendering/whatsAppTools.js';
import { parseAgentEvents, type AgentEvents } from './parseAgentEvents.js';
import { executionGax } from './executionGax.js';

export interface VertexAgentClientOptions {
  /** projects/P/locations/L/reasoningEngines/ID */
  engine: string;
  /** `host` or `host:port`; defaults to `{location}-aiplatform.googleapis.com`. Loopback means the local fake, in plain text. */
  apiEndpoint?: string;
  /** Deadline of each call; a whole agent turn must fit in it. */
  timeoutMs: number;
  /** A longer reply is cut to this many characters (see capReplyText). */
  maxReplyChars?: number;
  /** Connections shared with other engines' clients (one per region); closed by their owner, not by this client. */
  connections?: RegionalConnections;
}

/** One gRPC client per region (Agent Engine's endpoints are regional), shared by every engine in it. */
export interface RegionalConnections {
  forLocation(location: string): ExecutionClient;
  /** The regions with an open client. */
  readonly locations: readonly string[];
  /**
   * Opens the region's client ahead of its first call: builds the gRPC stub, connects its channel
   * (TCP, TLS, HTTP/2) and fetches an access token, so a cold instance's first agent call does not
   * pay for them. Sends no RPC. Rejects if the channel is not ready within WARM_UP_TIMEOUT_MS.
   */
  warmUp(location: string): Promise<void>;
  close(): Promise<void>;
}

/** Longest a warm-up waits for a region's channel; the calls themselves wait as long as they need. */
const WARM_UP_TIMEOUT_MS = 10_000;

type ExecutionClient = ReasoningEngineExecutionServiceClient;
type ClientOptions = ConstructorParameters<typeof ReasoningEngineExecutionServiceClient>[0];
type Value = Parameters<typeof fromValue>[0];
type Struct = protos.google.protobuf.IStruct;

const ENGINE_NAME = /^projects\/[^/]+\/locations\/([^/]+)\/reasoningEngines\/[^/]+$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const RETRYABLE_CODES = new Set([
  grpc.status.CANCELLED,
  grpc.status.UNKNOWN,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.ABORTED,
  grpc.status.INTERNAL,
  grpc.status.UNAVAILABLE,
]);
const RETRY_REASONS: Partial<Record<grpc.status, string>> = {
  [grpc.status.UNAVAILABLE]: 'agent_unavailable',
  [grpc.status.DEADLINE_EXCEEDED]: 'agent_timeout',
  [grpc.status.RESOURCE_EXHAUSTED]: 'agent_rate_limited',
};
/** In-band ADK error codes (finish or block reasons) that the same input would hit again. */
const PERMANENT_EVENT_CODES = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'LANGUAGE',
  'MAX_TOKENS',
]);
const SESSION_GONE = /session not found|does not belong to user/i;

/**
 * AgentClient for an ADK agent deployed on Vertex AI Agent Engine, over gRPC.
 * Sessions go through the AdkApp class methods (async_create_session, …) so the
 * ids are the ones async_stream_query accepts.
 */
export function createVertexAgentClient(options: VertexAgentClientOptions): AgentClient & { close(): Promise<void> } {
  const location = engineLocation(options.engine);
  const name = options.engine;
  const owned = options.connections ? undefined : createRegionalConnections(options.apiEndpoint);
  const connections = options.connections ?? owned!;
  const execution = (): ExecutionClient => connections.forLocation(location);

  const callClassMethod = async (classMethod: string, input: Record<string, unknown>): Promise<unknown> => {
    const [response] = await execution().queryReasoningEngine(
      { name, classMethod, input: toStruct(input) },
      { timeout: options.timeoutMs },
    );
    return response.output?.structValue ? fromValue(response.output as Value) : undefined;
  };

  return {
    async createSession(userId) {
      let output: unknown;
      try {
        output = await callClassMethod('async_create_session', { user_id: userId });
      } catch (error) {
        // NOT_FOUND here is the engine itself, not a session.
        throw toAgentError(error, { notFoundIsSession: false });
      }
      const id = isObject(output) ? output.id : undefined;
      if (typeof id !== 'string' || !id) {
        throw new PermanentError('async_create_session returned no session id (is the engine an ADK AdkApp?)', 'agent_session_invalid', {
          system: 'agent',
        });
      }
      return id;
    },

    async query(turn) {
      const request = {
        name,
        classMethod: 'async_stream_query',
        input: toStruct({ user_id: turn.userId, session_id: turn.sessionId, message: messageOf(turn) }),
      };
      let events: AgentEvents;
      try {
        events = await new Promise<AgentEvents>((resolve, reject) => {
          const parser = parseAgentEvents();
          // gax re-sends a stream that fails before its first chunk; an agent turn is not idempotent.
          const stream = execution().streamQueryReasoningEngine(request, {
            timeout: options.timeoutMs,
            retryRequestOptions: { retries: 0, noResponseRetries: 0 },
          });
          let settled = false;
          stream.on('data', (body: protos.google.api.IHttpBody) => {
            if (body.data) parser.push(typeof body.data === 'string' ? Buffer.from(body.data, 'base64') : body.data);
          });
          // 'end' also fires after 'error': the first one wins.
          stream.on('error', (error: unknown) => {
            if (settled) return;
            settled = true;
            reject(error);
          });
          stream.on('end', () => {
            if (settled) return;
            settled = true;
            resolve(parser.finish());
          });
        });
      } catch (error) {
        throw toAgentError(error, { notFoundIsSession: true });
      }
      // The agent's own tools (a search, a transfer) are not something to send.
      const reply = events.parts.filter((part) => part.kind === 'text' || Object.hasOwn(WHATSAPP_TOOL_PARAMETERS, part.name));
      if (reply.length > 0) return options.maxReplyChars ? capReplyParts(reply, options.maxReplyChars) : reply;
      if (events.error) throw eventError(events.error);
      throw new RetryableError(`agent returned no text (${events.eventCount} events)`, 'agent_empty_reply', { system: 'agent' });
    },

    async deleteSession(userId, sessionId) {
      try {
        await callClassMethod('async_delete_session', { user_id: userId, session_id: sessionId });
      } catch (error) {
        // A session already gone is what the caller wanted; an engine that is not there is not.
        const sessionGone = /session/i.test(error instanceof Error ? error.message : String(error));
        const mapped = toAgentError(error, { notFoundIsSession: sessionGone });
        if (mapped instanceof SessionNotFoundError) return;
        throw mapped;
      }
    },

    async close() {
      await owned?.close();
    },
  };
}

/** The engine's region, from its resource name. */
export function engineLocation(engine: string): string {
  const location = ENGINE_NAME.exec(engine)?.[1];
  if (!location) throw new Error(`engine must look like projects/P/locations/L/reasoningEngines/ID, got "${engine}"`);
  return location;
}

/** Clients are made on first use: an instance pays for the regions its traffic reaches. */
export function createRegionalConnections(apiEndpoint?: string): RegionalConnections {
  const clients = new Map<string, ExecutionClient>();
  const forLocation = (location: string): ExecutionClient => {
    let client = clients.get(location);
    if (!client) {
      client = new ReasoningEngineExecutionServiceClient(clientOptions(apiEndpoint, location), executionGax);
      clients.set(location, client);
    }
    return client;
  };
  return {
    forLocation,
    async warmUp(location) {
      const client = forLocation(location);
      // gax's stub is a @grpc/grpc-js Client; waitForReady makes its channel connect.
      const stub = (await client.initialize()) as unknown as grpc.Client;
      await Promise.all([
        new Promise<void>((resolve, reject) =>
          stub.waitForReady(Date.now() + WARM_UP_TIMEOUT_MS, (error) => (error ? reject(error) : resolve())),
        ),
        client.auth.getAccessToken(),
      ]);
    },
    get locations() {
      return [...clients.keys()];
    },
    async close() {
      const closing = [...clients.values()];
      clients.clear();
      await Promise.all(closing.map((client) => client.close()));
    },
  };
}

/** `{location}-aiplatform.googleapis.com` (`global`: the global endpoint) unless VERTEX_API_ENDPOINT overrides it. */
export function clientOptions(apiEndpoint: string | undefined, location: string): ClientOptions {
  if (!apiEndpoint) {
    return { apiEndpoint: location === 'global' ? 'aiplatform.googleapis.com' : `${location}-aiplatform.googleapis.com` };
  }
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(apiEndpoint);
  const host = match?.[1] ?? apiEndpoint;
  const port = match?.[2] === undefined ? undefined : Number(match[2]);
  const endpoint = { apiEndpoint: host, ...(port === undefined ? {} : { port }) };
  if (!LOOPBACK_HOSTS.has(host)) return endpoint;
  return { ...endpoint, sslCreds: grpc.credentials.createInsecure(), authClient: new PassThroughClient() };
}

/** A plain object is sent as an empty Struct: it must go through toValue. */
function toStruct(input: Record<string, unknown>): Struct {
  return (toValue(input) as protos.google.protobuf.IValue).structValue ?? { fields: {} };
}

function messageOf(turn: AgentTurn) {
  return agentMessage(turn.text, turn.media);
}

function toAgentError(error: unknown, context: { notFoundIsSession: boolean }): Error {
  const rawCode = (error as { code?: unknown } | null | undefined)?.code;
  const code = typeof rawCode === 'number' ? (rawCode as grpc.status) : undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (context.notFoundIsSession && (code === grpc.status.NOT_FOUND || SESSION_GONE.test(message))) {
    return new SessionNotFoundError(message, { cause: error });
  }
  if (code === undefined) return new RetryableError(`agent call failed: ${message}`, 'agent_error', { system: 'agent', cause: error });
  const reason = RETRY_REASONS[code] ?? `agent_grpc_${code}`;
  const details = { system: 'agent', fields: { grpcCode: code }, cause: error } as const;
  return RETRYABLE_CODES.has(code) ? new RetryableError(message, reason, details) : new PermanentError(message, reason, details);
}

function eventError(error: NonNullable<AgentEvents['error']>): Error {
  const description = `agent reported ${error.code}${error.message ? `: ${error.message}` : ''}`;
  // The runtime may report a gone session inside the stream: a new one is started, as for the gRPC error.
  if (SESSION_GONE.test(error.message ?? '')) return new SessionNotFoundError(description);
  const reason = `agent_event_${error.code.toLowerCase()}`;
  const status = Number(error.code);
  const permanent = PERMANENT_EVENT_CODES.has(error.code) || (status >= 400 && status < 500 && status !== 429);
  const details = { system: 'agent' } as const;
  return permanent ? new PermanentError(description, reason, details) : new RetryableError(description, reason, details);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
