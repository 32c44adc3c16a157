import { randomInt } from 'node:crypto';
import { helpers } from '@google-cloud/aiplatform';
import * as grpc from '@grpc/grpc-js';
import { isObject, optionalString, RpcError, structOf, structToJson, timestamp, unary, type Json, type ServiceDefinition } from './aiplatformGrpc.js';
import type { LocalAgentRequest } from './localAgent.js';

export interface LocalAgentSession {
  id: string;
  /** The reasoning engine the session belongs to: another engine does not know it. */
  engine: string;
  userId: string;
  /** Completed stream queries; the echo reply shows it, so a reset session starts again at #1. */
  turns: number;
  state: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

/** The failure a test injected for this request, if any. */
export type InjectedFailure = (request: LocalAgentRequest) => RpcError | undefined;

const APP_NAME = 'local-agent';

/**
 * The agents' sessions, held in `sessions`, served two ways as Agent Engine does: AdkApp's session
 * class methods (QueryReasoningEngine) and aiplatform's SessionService. Each session belongs to
 * one of `engines`, as each deployed agent has its own.
 */
export function createSessionService(options: {
  engines: readonly string[];
  sessions: Map<string, LocalAgentSession>;
  injectedFailure: InjectedFailure;
  definition: ServiceDefinition;
}) {
  const { engines, sessions, injectedFailure } = options;

  /** The engine the request names, when this agent answers as it. */
  const checkEngine = (name: unknown): string => {
    if (typeof name !== 'string' || !engines.includes(name)) {
      throw new RpcError(grpc.status.NOT_FOUND, `ReasoningEngine ${String(name)} not found.`);
    }
    return name;
  };

  const create = (engine: string, userId: string, sessionId?: string): LocalAgentSession => {
    const now = new Date();
    const session = { id: sessionId ?? generateSessionId(), engine, userId, turns: 0, state: {}, createdAt: now, updatedAt: now };
    sessions.set(session.id, session);
    return session;
  };

  const owned = (engine: string, userId: string, sessionId: string): LocalAgentSession => {
    const session = sessions.get(sessionId);
    if (!session || session.engine !== engine) throw new RpcError(grpc.status.NOT_FOUND, `Session not found: ${sessionId}`);
    if (session.userId !== userId) {
      // What a deployed AdkApp answers when ADK's get_session raises for another user's session.
      throw new RpcError(
        grpc.status.FAILED_PRECONDITION,
        `Reasoning Engine Execution failed.\nError Details: {"detail":"Agent Engine Error: ValueError: Session ${sessionId} does not belong to user ${userId}."}`,
      );
    }
    return session;
  };

  const queryReasoningEngine = (request: Json): Json => {
    const engine = checkEngine(request.name);
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
        return { output: helpers.toValue(adkSession(create(engine, userId))) };
      }
      case 'async_get_session':
        return { output: helpers.toValue(adkSession(owned(engine, userId, sessionId ?? ''))) };
      case 'async_delete_session':
        owned(engine, userId, sessionId ?? '');
        sessions.delete(sessionId ?? '');
        return { output: { nullValue: 'NULL_VALUE' } };
      case 'async_list_sessions':
        return {
          output: helpers.toValue({
            sessions: [...sessions.values()]
              .filter((session) => session.engine === engine && session.userId === userId)
              .map(adkSession),
          }),
        };
      default:
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `Class method ${method} is not supported by this agent.`);
    }
  };

  const existing = (name: unknown): LocalAgentSession => {
    const [, engine, id] = typeof name === 'string' ? (/^(.*)\/sessions\/([^/]+)$/.exec(name) ?? []) : [];
    const session = id === undefined ? undefined : sessions.get(id);
    if (!session || session.engine !== engine) throw new RpcError(grpc.status.NOT_FOUND, `Session ${String(name)} not found.`);
    return session;
  };
  const sessionProto = (session: LocalAgentSession): Json => ({
    name: `${session.engine}/sessions/${session.id}`,
    userId: session.userId,
    createTime: timestamp(session.createdAt),
    updateTime: timestamp(session.updatedAt),
    expireTime: timestamp(new Date(session.createdAt.getTime() + 24 * 3600 * 1000)),
    sessionState: structOf(session.state),
  });
  const encodeSession = options.definition.GetSession?.responseSerialize;
  const doneOperation = (engine: string, response: { typeUrl: string; value: Buffer }): Json => ({
    name: `${engine}/operations/${randomInt(1e9, 1e10)}`,
    done: true,
    response,
  });

  const handlers: grpc.UntypedServiceImplementation = {
    CreateSession: unary((request) => {
      const engine = checkEngine(request.parent);
      const proto = isObject(request.session) ? request.session : {};
      const userId = optionalString(proto.userId);
      const sessionId = optionalString(request.sessionId);
      const failure = injectedFailure({ method: 'CreateSession', userId, sessionId });
      if (failure) throw failure;
      if (!userId) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'session.user_id is required.');
      if (sessionId && sessions.has(sessionId)) {
        throw new RpcError(grpc.status.ALREADY_EXISTS, `Session ${sessionId} already exists.`);
      }
      const session = create(engine, userId, sessionId);
      return doneOperation(engine, {
        typeUrl: 'type.googleapis.com/google.cloud.aiplatform.v1.Session',
        value: encodeSession?.(sessionProto(session)) ?? Buffer.alloc(0),
      });
    }),
    GetSession: unary((request) => {
      const session = existing(request.name);
      const failure = injectedFailure({ method: 'GetSession', userId: session.userId, sessionId: session.id });
      if (failure) throw failure;
      return sessionProto(session);
    }),
    ListSessions: unary((request) => {
      const engine = checkEngine(request.parent);
      const userFilter = /user_id\s*=\s*"([^"]*)"/.exec(String(request.filter ?? ''))?.[1];
      const failure = injectedFailure({ method: 'ListSessions', userId: userFilter });
      if (failure) throw failure;
      const listed = [...sessions.values()].filter(
        (session) => session.engine === engine && (!userFilter || session.userId === userFilter),
      );
      return { sessions: listed.map(sessionProto), nextPageToken: '' };
    }),
    DeleteSession: unary((request) => {
      const session = existing(request.name);
      const failure = injectedFailure({ method: 'DeleteSession', userId: session.userId, sessionId: session.id });
      if (failure) throw failure;
      sessions.delete(session.id);
      return doneOperation(session.engine, { typeUrl: 'type.googleapis.com/google.protobuf.Empty', value: Buffer.alloc(0) });
    }),
  };

  return { checkEngine, create, owned, queryReasoningEngine, handlers };
}

/** A session as ADK's Session.model_dump() returns it from the class methods. */
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
