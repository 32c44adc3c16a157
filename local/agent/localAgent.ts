import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { writeAdkEvents } from './adkEventWriter.js';
import { bindInsecure, loadServices, optionalString, RpcError, structToJson, toStatus, unary, type Json } from './aiplatformGrpc.js';
import { cloudStorageReader } from './cloudStorageReader.js';
import { defaultReply, readMessage, type ReadFile } from './defaultReply.js';
import { createSessionService, type LocalAgentSession } from './sessionService.js';

export type { LocalAgentSession } from './sessionService.js';

/** One async_stream_query the fake received, failed or not. */
export interface LocalAgentCall {
  /** The reasoning engine the query named (the local agent can answer as several). */
  engine: string;
  userId: string;
  sessionId: string;
  /** The text of the message (a plain string, or the text parts of a Content dict). */
  text: string;
  inlineData: { mimeType: string; bytes: number }[];
  /** The `file_data` objects, as read back from Cloud Storage (empty until the turn read them). */
  files: ReadFile[];
  /** The decoded Struct input exactly as it arrived. */
  input: Record<string, unknown>;
  at: Date;
  /** Set when the fake answered with an error instead of events. */
  failedWith?: grpc.status;
}

/** Any request, as failWhen predicates see it; `method` is the class method or SessionService RPC. */
export interface LocalAgentRequest {
  method: string;
  userId?: string;
  sessionId?: string;
  text?: string;
}

/** One piece of the fake's turn: text, or a tool call (answered by a tool result, as ADK runs tools). */
export type LocalAgentPart = { text: string } | { call: string; args: Record<string, unknown> };

/** A reply is plain text, or text and tool calls in the order the agent produces them. */
export type LocalAgentReply = string | LocalAgentPart[];

export interface ReplyContext {
  call: LocalAgentCall;
  session: LocalAgentSession;
  turn: number;
}

export interface LocalAgent {
  /** `host:port`, for createVertexAgentClient's apiEndpoint (VERTEX_API_ENDPOINT). */
  readonly endpoint: string;
  /** The reasoning engine resource name this fake answers to (AGENT_ENGINE); the first of `engines`. */
  readonly engine: string;
  /** Every engine it answers as, each with its own sessions (AGENT_ENGINE_BY_NUMBER's agents, locally). */
  readonly engines: readonly string[];
  readonly calls: LocalAgentCall[];
  readonly sessions: Map<string, LocalAgentSession>;
  /** Delay before a stream query answers; a function gets the session's turn number (1-based). */
  latencyMs: number | ((turn: number) => number);
  /** Emit a function_call and function_response event before the reply, as a tool-using agent does. */
  toolEvents: boolean;
  /** When set, the NDJSON is cut into chunks of this many bytes regardless of line or character boundaries. */
  chunkBytes: number | undefined;
  /** The next `count` stream queries fail with `code` (after being recorded in `calls`). */
  failNext(count: number, code: grpc.status, message?: string): void;
  /** Every request (any method) matching `predicate` fails with `code`, until reset(). */
  failWhen(predicate: (request: LocalAgentRequest) => boolean, code: grpc.status, message?: string): void;
  /** Overrides the reply; returning '' makes the agent answer with tool events only. */
  reply(fn: ((context: ReplyContext) => LocalAgentReply | Promise<LocalAgentReply>) | undefined): void;
  /** Forgets calls, sessions and every knob. */
  reset(): void;
  close(): Promise<void>;
}

export const LOCAL_AGENT_ENGINE = 'projects/local-project/locations/us-central1/reasoningEngines/local-agent';

interface Failure {
  predicate: (request: LocalAgentRequest) => boolean;
  code: grpc.status;
  message: string;
}

/**
 * A real gRPC server speaking aiplatform v1 ReasoningEngineExecutionService and SessionService,
 * in memory: this file holds the knobs tests turn and the stream query; sessionService.ts the
 * sessions, defaultReply.ts what it answers, adkEventWriter.ts how a turn streams back,
 * aiplatformGrpc.ts the protos and server.
 */
export async function startLocalAgent(
  options: {
    host?: string;
    port?: number;
    engines?: string[];
    /** Where `gs://` objects are read from (the Cloud Storage stand-in); default STORAGE_EMULATOR_HOST, else Cloud Storage. */
    storageEndpoint?: string;
  } = {},
): Promise<LocalAgent> {
  const readFile = cloudStorageReader(options.storageEndpoint ? { endpoint: options.storageEndpoint } : {});
  const engines = options.engines?.length ? [...new Set(options.engines)] : [LOCAL_AGENT_ENGINE];
  const services = loadServices();
  const server = new grpc.Server();
  const inFlight = new Set<AbortController>();
  let failures: { next: Failure[]; always: Failure[] } = { next: [], always: [] };
  let replyOverride: ((context: ReplyContext) => LocalAgentReply | Promise<LocalAgentReply>) | undefined;

  const agent = {
    endpoint: '',
    engine: engines[0]!,
    engines,
    calls: [] as LocalAgentCall[],
    sessions: new Map<string, LocalAgentSession>(),
    latencyMs: 0 as LocalAgent['latencyMs'],
    toolEvents: true,
    chunkBytes: undefined as number | undefined,
    failNext(count: number, code: grpc.status, message = `injected failure (${grpc.status[code]})`) {
      for (let i = 0; i < count; i += 1) {
        failures.next.push({ predicate: (request) => request.method === 'async_stream_query', code, message });
      }
    },
    failWhen(predicate: Failure['predicate'], code: grpc.status, message = `injected failure (${grpc.status[code]})`) {
      failures.always.push({ predicate, code, message });
    },
    reply(fn: typeof replyOverride) {
      replyOverride = fn;
    },
    reset() {
      agent.calls.length = 0;
      agent.sessions.clear();
      agent.latencyMs = 0;
      agent.toolEvents = true;
      agent.chunkBytes = undefined;
      failures = { next: [], always: [] };
      replyOverride = undefined;
    },
    async close() {
      for (const controller of inFlight) controller.abort();
      server.forceShutdown();
    },
  };

  const injectedFailure = (request: LocalAgentRequest): RpcError | undefined => {
    const index = failures.next.findIndex((failure) => failure.predicate(request));
    const failure = index === -1 ? failures.always.find((candidate) => candidate.predicate(request)) : failures.next[index];
    if (index !== -1) failures.next.splice(index, 1);
    return failure && new RpcError(failure.code, failure.message);
  };

  const sessions = createSessionService({ engines, sessions: agent.sessions, injectedFailure, definition: services.session });

  const streamQuery = async (call: grpc.ServerWritableStream<Json, Json>, signal: AbortSignal): Promise<void> => {
    const request = call.request;
    const engine = sessions.checkEngine(request.name);
    const method = String(request.classMethod);
    const input = structToJson(request.input);
    const message = readMessage(input.message);
    const record: LocalAgentCall = {
      engine,
      userId: optionalString(input.user_id) ?? '',
      sessionId: optionalString(input.session_id) ?? '',
      text: message.text,
      inlineData: message.inlineData,
      files: [],
      input,
      at: new Date(),
    };
    if (method === 'async_stream_query') agent.calls.push(record);
    try {
      const failure = injectedFailure({ method, userId: record.userId, sessionId: record.sessionId, text: record.text });
      if (failure) throw failure;
      if (method !== 'async_stream_query') {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `Class method ${method} is not supported by this agent.`);
      }
      if (!record.userId) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, "async_stream_query() missing required argument: 'user_id'");
      }
      // Like AdkApp, a query without a session id runs in a fresh session whose id the caller never sees.
      const session = record.sessionId
        ? sessions.owned(engine, record.userId, record.sessionId)
        : sessions.create(engine, record.userId);
      const turn = session.turns + 1;
      try {
        record.files = await Promise.all(message.files.map(readFile));
      } catch (error) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `Cannot read the file_data of the request: ${(error as Error).message}`);
      }
      const latency = typeof agent.latencyMs === 'function' ? agent.latencyMs(turn) : agent.latencyMs;
      if (latency > 0) await sleep(latency, undefined, { signal });
      const reply = replyOverride ? await replyOverride({ call: record, session, turn }) : defaultReply(turn, message, engine === engines[0] ? undefined : engine.split('/').at(-1), record.files);
      session.turns = turn;
      session.updatedAt = new Date();
      await writeAdkEvents(call, { reply, question: message.text, toolEvents: agent.toolEvents, chunkBytes: agent.chunkBytes });
    } catch (error) {
      if (error instanceof RpcError) record.failedWith = error.code;
      throw error;
    }
  };

  server.addService(services.execution, {
    QueryReasoningEngine: unary(sessions.queryReasoningEngine),
    StreamQueryReasoningEngine: (call: grpc.ServerWritableStream<Json, Json>) => {
      const controller = new AbortController();
      inFlight.add(controller);
      call.on('cancelled', () => controller.abort());
      streamQuery(call, controller.signal)
        .then(() => call.end())
        .catch((error: unknown) => {
          if (!controller.signal.aborted) call.emit('error', toStatus(error));
        })
        .finally(() => inFlight.delete(controller));
    },
  });
  server.addService(services.session, sessions.handlers);

  agent.endpoint = await bindInsecure(server, options.host ?? '127.0.0.1', options.port ?? 0);
  return agent;
}
