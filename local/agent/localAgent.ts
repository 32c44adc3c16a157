import { randomInt, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { helpers } from '@google-cloud/aiplatform';
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';

/** One async_stream_query the fake received, failed or not. */
export interface LocalAgentCall {
  userId: string;
  sessionId: string;
  /** The text of the message (a plain string, or the text parts of a Content dict). */
  text: string;
  inlineData: { mimeType: string; bytes: number }[];
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

export interface LocalAgentSession {
  id: string;
  userId: string;
  /** Completed stream queries; the echo reply shows it, so a reset session starts again at #1. */
  turns: number;
  state: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
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
  /** The reasoning engine resource name this fake answers to (AGENT_ENGINE). */
  readonly engine: string;
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

const APP_NAME = 'local-agent';
const AUTHOR = 'local_agent';
const ENGINE = 'projects/local-project/locations/us-central1/reasoningEngines/local-agent';

type Json = Record<string, unknown>;
type Value = Parameters<typeof helpers.fromValue>[0];
type ServiceDefinition = grpc.ServiceDefinition & Record<string, grpc.MethodDefinition<unknown, unknown>>;

interface Failure {
  predicate: (request: LocalAgentRequest) => boolean;
  code: grpc.status;
  message: string;
}

class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/** A real gRPC server speaking aiplatform v1 ReasoningEngineExecutionService and SessionService, in memory. */
export async function startLocalAgent(options: { host?: string; port?: number } = {}): Promise<LocalAgent> {
  const host = options.host ?? '127.0.0.1';
  const services = loadServices();
  const server = new grpc.Server();
  const inFlight = new Set<AbortController>();
  let failures: { next: Failure[]; always: Failure[] } = { next: [], always: [] };
  let replyOverride: ((context: ReplyContext) => LocalAgentReply | Promise<LocalAgentReply>) | undefined;

  const agent = {
    endpoint: '',
    engine: ENGINE,
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

  const createSession = (userId: string, sessionId?: string): LocalAgentSession => {
    const now = new Date();
    const session = { id: sessionId ?? generateSessionId(), userId, turns: 0, state: {}, createdAt: now, updatedAt: now };
    agent.sessions.set(session.id, session);
    return session;
  };

  const ownedSession = (userId: string, sessionId: string): LocalAgentSession => {
    const session = agent.sessions.get(sessionId);
    if (!session) throw new RpcError(grpc.status.NOT_FOUND, `Session not found: ${sessionId}`);
    if (session.userId !== userId) {
      // What a deployed AdkApp answers when ADK's get_session raises for another user's session.
      throw new RpcError(
        grpc.status.FAILED_PRECONDITION,
        `Reasoning Engine Execution failed.\nError Details: {"detail":"Agent Engine Error: ValueError: Session ${sessionId} does not belong to user ${userId}."}`,
      );
    }
    return session;
  };

  const checkEngine = (name: unknown): void => {
    if (name !== ENGINE) throw new RpcError(grpc.status.NOT_FOUND, `ReasoningEngine ${String(name)} not found.`);
  };

  const queryReasoningEngine = (request: Json): Json => {
    checkEngine(request.name);
    const method = String(request.classMethod);
    const input = structToJson(request.input);
    const userId = optionalString(input.user_id);
    const sessionId = optionalString(input.session_id);
    const failure = injectedFailure({ method, userId, sessionId });
    if (failure) throw failure;
    if (!userId) throw new RpcError(grpc.status.INVALID_ARGUMENT, `${method}() missing required argument: 'user_id'`);
    switch (method) {
      case 'async_create_session': {
        if (sessionId) {
          throw new RpcError(
            grpc.status.FAILED_PRECONDITION,
            'Reasoning Engine Execution failed. Failed to create session: User-provided Session id is not supported for VertexAISessionService.',
          );
        }
        return { output: helpers.toValue(adkSession(createSession(userId))) };
      }
      case 'async_get_session':
        return { output: helpers.toValue(adkSession(ownedSession(userId, sessionId ?? ''))) };
      case 'async_delete_session':
        ownedSession(userId, sessionId ?? '');
        agent.sessions.delete(sessionId ?? '');
        return { output: { nullValue: 'NULL_VALUE' } };
      case 'async_list_sessions':
        return {
          output: helpers.toValue({
            sessions: [...agent.sessions.values()].filter((session) => session.userId === userId).map(adkSession),
          }),
        };
      default:
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `Class method ${method} is not supported by this agent.`);
    }
  };

  const streamQuery = async (call: grpc.ServerWritableStream<Json, Json>, signal: AbortSignal): Promise<void> => {
    const request = call.request;
    checkEngine(request.name);
    const method = String(request.classMethod);
    const input = structToJson(request.input);
    const message = readMessage(input.message);
    const record: LocalAgentCall = {
      userId: optionalString(input.user_id) ?? '',
      sessionId: optionalString(input.session_id) ?? '',
      text: message.text,
      inlineData: message.inlineData,
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
      const session = record.sessionId ? ownedSession(record.userId, record.sessionId) : createSession(record.userId);
      const turn = session.turns + 1;
      const latency = typeof agent.latencyMs === 'function' ? agent.latencyMs(turn) : agent.latencyMs;
      if (latency > 0) await sleep(latency, undefined, { signal });
      const reply = replyOverride ? await replyOverride({ call: record, session, turn }) : defaultReply(turn, message);
      session.turns = turn;
      session.updatedAt = new Date();
      await writeEvents(call, adkEvents(reply, message.text, agent.toolEvents), agent.chunkBytes);
    } catch (error) {
      if (error instanceof RpcError) record.failedWith = error.code;
      throw error;
    }
  };

  server.addService(services.execution, {
    QueryReasoningEngine: unary(queryReasoningEngine),
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

  const sessionName = (id: string) => `${ENGINE}/sessions/${id}`;
  const sessionIdOf = (name: unknown): string => {
    const prefix = `${ENGINE}/sessions/`;
    if (typeof name !== 'string' || !name.startsWith(prefix)) {
      throw new RpcError(grpc.status.NOT_FOUND, `Session ${String(name)} not found.`);
    }
    return name.slice(prefix.length);
  };
  const existingSession = (name: unknown): LocalAgentSession => {
    const session = agent.sessions.get(sessionIdOf(name));
    if (!session) throw new RpcError(grpc.status.NOT_FOUND, `Session ${String(name)} not found.`);
    return session;
  };
  const sessionProto = (session: LocalAgentSession): Json => ({
    name: sessionName(session.id),
    userId: session.userId,
    createTime: timestamp(session.createdAt),
    updateTime: timestamp(session.updatedAt),
    expireTime: timestamp(new Date(session.createdAt.getTime() + 24 * 3600 * 1000)),
    sessionState: structOf(session.state),
  });
  const encodeSession = services.session.GetSession?.responseSerialize;
  const doneOperation = (response: { typeUrl: string; value: Buffer }): Json => ({
    name: `${ENGINE}/operations/${randomInt(1e9, 1e10)}`,
    done: true,
    response,
  });

  server.addService(services.session, {
    CreateSession: unary((request) => {
      checkEngine(request.parent);
      const proto = isObject(request.session) ? request.session : {};
      const userId = optionalString(proto.userId);
      const sessionId = optionalString(request.sessionId);
      const failure = injectedFailure({ method: 'CreateSession', userId, sessionId });
      if (failure) throw failure;
      if (!userId) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'session.user_id is required.');
      if (sessionId && agent.sessions.has(sessionId)) {
        throw new RpcError(grpc.status.ALREADY_EXISTS, `Session ${sessionId} already exists.`);
      }
      const session = createSession(userId, sessionId);
      return doneOperation({
        typeUrl: 'type.googleapis.com/google.cloud.aiplatform.v1.Session',
        value: encodeSession?.(sessionProto(session)) ?? Buffer.alloc(0),
      });
    }),
    GetSession: unary((request) => {
      const session = existingSession(request.name);
      const failure = injectedFailure({ method: 'GetSession', userId: session.userId, sessionId: session.id });
      if (failure) throw failure;
      return sessionProto(session);
    }),
    ListSessions: unary((request) => {
      checkEngine(request.parent);
      const userFilter = /user_id\s*=\s*"([^"]*)"/.exec(String(request.filter ?? ''))?.[1];
      const failure = injectedFailure({ method: 'ListSessions', userId: userFilter });
      if (failure) throw failure;
      const sessions = [...agent.sessions.values()].filter((session) => !userFilter || session.userId === userFilter);
      return { sessions: sessions.map(sessionProto), nextPageToken: '' };
    }),
    DeleteSession: unary((request) => {
      const session = existingSession(request.name);
      const failure = injectedFailure({ method: 'DeleteSession', userId: session.userId, sessionId: session.id });
      if (failure) throw failure;
      agent.sessions.delete(session.id);
      return doneOperation({ typeUrl: 'type.googleapis.com/google.protobuf.Empty', value: Buffer.alloc(0) });
    }),
  });

  const bindHost = host.includes(':') ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${bindHost}:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  agent.endpoint = `${bindHost}:${port}`;
  return agent;
}

function loadServices(): { execution: ServiceDefinition; session: ServiceDefinition } {
  const protos = createRequire(import.meta.url)('@google-cloud/aiplatform/build/protos/protos.json') as Json;
  const definition = fromJSON(protos, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  const service = (name: string) => {
    const found = definition[`google.cloud.aiplatform.v1.${name}`];
    if (!found) throw new Error(`aiplatform protos have no ${name}`);
    return found as unknown as ServiceDefinition;
  };
  return { execution: service('ReasoningEngineExecutionService'), session: service('SessionService') };
}

function unary(handler: (request: Json) => Json): grpc.handleUnaryCall<Json, Json> {
  return (call, callback) => {
    try {
      callback(null, handler(call.request));
    } catch (error) {
      callback(toStatus(error));
    }
  };
}

function toStatus(error: unknown): Partial<grpc.StatusObject> {
  if (error instanceof RpcError) return { code: error.code, details: error.message };
  return { code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error) };
}

async function writeEvents(
  call: grpc.ServerWritableStream<Json, Json>,
  events: Json[],
  chunkBytes: number | undefined,
): Promise<void> {
  const lines = events.map((event) => Buffer.from(`${JSON.stringify(event)}\n`, 'utf8'));
  const chunks: Buffer[] = [];
  if (chunkBytes && chunkBytes > 0) {
    const all = Buffer.concat(lines);
    for (let at = 0; at < all.length; at += chunkBytes) chunks.push(all.subarray(at, at + chunkBytes));
  } else {
    chunks.push(...lines);
  }
  for (const data of chunks) {
    await new Promise<void>((resolve, reject) =>
      call.write({ contentType: 'application/json', data }, (error: Error | null | undefined) =>
        error ? reject(error) : resolve(),
      ),
    );
  }
}

interface Message {
  text: string;
  inlineData: { mimeType: string; bytes: number }[];
}

/** `message` is a string or a google.genai Content dict, as AdkApp.async_stream_query accepts. */
function readMessage(message: unknown): Message {
  if (typeof message === 'string') return { text: message, inlineData: [] };
  const parts = isObject(message) && Array.isArray(message.parts) ? message.parts.filter(isObject) : [];
  return {
    text: parts
      .map((part) => (typeof part.text === 'string' ? part.text : ''))
      .filter(Boolean)
      .join('\n'),
    inlineData: parts.flatMap((part) => {
      const blob = part.inline_data ?? part.inlineData;
      if (!isObject(blob)) return [];
      const data = typeof blob.data === 'string' ? blob.data : '';
      return [{ mimeType: String(blob.mime_type ?? blob.mimeType ?? ''), bytes: Buffer.from(data, 'base64').length }];
    }),
  };
}

function defaultReply(turn: number, message: Message): LocalAgentReply {
  const tap = TAPPED_OPTION.exec(message.text);
  if (tap) return `You chose "${tap[1]}" (option id: ${tap[2]}).`;
  if (/\bmarkdown\b/i.test(message.text)) return MARKDOWN_REPLY;
  const offer = WHATSAPP_OFFERS.find(({ keyword }) => keyword.test(message.text));
  if (offer) return offer.reply;
  const media = message.inlineData.map((blob) => ` [+ ${blob.mimeType}, ${blob.bytes} bytes]`).join('');
  return `Echo #${turn}: ${message.text}${media}`;
}

/** How the bridge passes a tapped button or list row (see decideAction): the title's line, then the id's. */
const TAPPED_OPTION = /([^\n]*)\n\[option id: ([^\]\n]*)\]$/;

/** A keyword in the user's message makes the fake call the matching WhatsApp tool, as an ADK agent with them would. */
const WHATSAPP_OFFERS: { keyword: RegExp; reply: LocalAgentPart[] }[] = [
  {
    keyword: /\bbuttons\b/i,
    reply: [
      { text: 'Sure, here are some buttons.' },
      {
        call: 'whatsapp_buttons',
        args: { text: 'Which size would you like?', options: ['Small', 'Medium', { id: 'size-large', title: 'Large' }] },
      },
    ],
  },
  {
    keyword: /\blist\b/i,
    reply: [
      {
        call: 'whatsapp_buttons',
        args: {
          text: 'When should we deliver?',
          button: 'Pick a day',
          header: 'Delivery',
          footer: 'Free delivery over €20',
          options: [
            { title: 'Monday', description: 'Morning, 9:00–12:00' },
            { title: 'Tuesday', description: 'Afternoon, 14:00–18:00' },
            { title: 'Wednesday' },
            { title: 'Thursday' },
            { id: 'later', title: 'Later this month', description: 'We will ask you again' },
          ],
        },
      },
    ],
  },
  {
    keyword: /\bphoto\b/i,
    reply: [
      { call: 'whatsapp_media', args: { type: 'image', url: 'https://picsum.photos/seed/whatsapp-bridge/640/400', caption: 'Fresh from the oven' } },
      { text: 'Anything else?' },
    ],
  },
  {
    keyword: /\bdocument\b/i,
    reply: [
      { text: 'Here is our menu.' },
      {
        call: 'whatsapp_media',
        args: { type: 'document', url: 'https://www.w3.org/WAI/ER/tests/xhtml/testfiles/resources/pdf/dummy.pdf', filename: 'menu.pdf', caption: 'Menu' },
      },
    ],
  },
  {
    keyword: /\blocation\b/i,
    reply: [
      { text: 'We are here:' },
      { call: 'whatsapp_location', args: { latitude: -34.6037, longitude: -58.3816, name: 'Example Bakery', address: 'Av. Corrientes 1234, Buenos Aires' } },
    ],
  },
  {
    keyword: /\blink\b/i,
    reply: [{ call: 'whatsapp_link', args: { text: 'Order online and skip the queue.', url: 'https://example.com/order', label: 'Order now' } }],
  },
];

const MARKDOWN_REPLY = [
  '# Trip checklist',
  '',
  'Here is **everything** you need, with a few *optional* extras.',
  '',
  '## Before you go',
  '',
  '1. Check your **passport** expiry date',
  '2. Book the airport transfer',
  '   - shared shuttle: cheapest',
  '   - taxi: fastest',
  '3. Download the offline map',
  '',
  '## Useful snippet',
  '',
  '```bash',
  'curl -s "https://api.example.com/flights?from=LIS&to=NYC" | jq .price',
  '```',
  '',
  '| Item | Price | Notes |',
  '| --- | ---: | --- |',
  '| Flight | €420 | economy |',
  '| Hotel | €95/night | breakfast incl. |',
  '',
  '> Tip: keep a copy of your documents offline.',
  '',
  'More at [the travel guide](https://example.com/guide) or ~~the old page~~.',
].join('\n');

/** The events an ADK LlmAgent yields for one turn, snake_case without None fields like model_dump_json(exclude_none=True). */
function adkEvents(reply: LocalAgentReply, question: string, toolEvents: boolean): Json[] {
  const invocationId = `e-${randomUUID()}`;
  const base = () => ({
    invocation_id: invocationId,
    author: AUTHOR,
    actions: { state_delta: {}, artifact_delta: {}, requested_auth_configs: {}, requested_tool_confirmations: {} },
    id: randomUUID().slice(0, 8),
    timestamp: Date.now() / 1000,
  });
  // ADK runs each tool between the model's events: the call, then its result (authored by the agent, role user).
  const toolRound = (name: string, args: Json, result: unknown): Json[] => {
    const callId = `adk-${randomUUID()}`;
    return [
      { content: { parts: [{ function_call: { id: callId, args, name } }], role: 'model' }, ...base(), long_running_tool_ids: [] },
      { content: { parts: [{ function_response: { id: callId, name, response: { result } } }], role: 'user' }, ...base() },
    ];
  };
  const textEvent = (text: string): Json => ({
    content: { parts: [{ text }], role: 'model' },
    usage_metadata: {
      candidates_token_count: Math.ceil(text.length / 4),
      prompt_token_count: 250,
      total_token_count: 250 + Math.ceil(text.length / 4),
    },
    ...base(),
  });
  const events: Json[] = toolEvents ? toolRound('search_knowledge_base', { query: question }, 'no matching articles') : [];
  const parts = typeof reply === 'string' ? (reply ? [{ text: reply }] : []) : reply;
  for (const part of parts) {
    events.push(...('call' in part ? toolRound(part.call, part.args, 'sent to the user') : [textEvent(part.text)]));
  }
  return events;
}

function adkSession(session: LocalAgentSession): Json {
  return {
    id: session.id,
    app_name: APP_NAME,
    user_id: session.userId,
    state: session.state,
    events: [],
    last_update_time: session.updatedAt.getTime() / 1000,
  };
}

/** Vertex session ids are long decimal numbers. */
function generateSessionId(): string {
  return `${randomInt(1, 10)}${String(randomInt(0, 1e9)).padStart(9, '0')}${String(randomInt(0, 1e9)).padStart(9, '0')}`;
}

function structToJson(struct: unknown): Json {
  if (!isObject(struct)) return {};
  const decoded = helpers.fromValue({ kind: 'structValue', structValue: struct } as Value);
  return isObject(decoded) ? decoded : {};
}

function structOf(value: Json): Json {
  const converted = helpers.toValue(value);
  return isObject(converted) && isObject(converted.structValue) ? converted.structValue : { fields: {} };
}

function timestamp(date: Date): Json {
  return { seconds: String(Math.floor(date.getTime() / 1000)), nanos: (date.getTime() % 1000) * 1e6 };
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
