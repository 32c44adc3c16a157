import { createRequire } from 'node:module';
import { helpers } from '@google-cloud/aiplatform';
import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';

/** The gRPC plumbing of the local agent: aiplatform's own protos, handlers, status codes, proto values. */

export type Json = Record<string, unknown>;
type Value = Parameters<typeof helpers.fromValue>[0];
export type ServiceDefinition = grpc.ServiceDefinition & Record<string, grpc.MethodDefinition<unknown, unknown>>;

/** A failure answered with this gRPC status and message, as Agent Engine would. */
export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/** aiplatform v1's ReasoningEngineExecutionService and SessionService, from the protos the client library ships. */
export function loadServices(): { execution: ServiceDefinition; session: ServiceDefinition } {
  const protos = createRequire(import.meta.url)('@google-cloud/aiplatform/build/protos/protos.json') as Json;
  const definition = fromJSON(protos, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  const service = (name: string) => {
    const found = definition[`google.cloud.aiplatform.v1.${name}`];
    if (!found) throw new Error(`aiplatform protos have no ${name}`);
    return found as unknown as ServiceDefinition;
  };
  return { execution: service('ReasoningEngineExecutionService'), session: service('SessionService') };
}

/** Binds plain-text gRPC (what a loopback VERTEX_API_ENDPOINT uses) and returns `host:port`. */
export async function bindInsecure(server: grpc.Server, host: string, port: number): Promise<string> {
  const bindHost = host.includes(':') ? `[${host}]` : host;
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${bindHost}:${port}`, grpc.ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    );
  });
  return `${bindHost}:${bound}`;
}

export function unary(handler: (request: Json) => Json): grpc.handleUnaryCall<Json, Json> {
  return (call, callback) => {
    try {
      callback(null, handler(call.request));
    } catch (error) {
      callback(toStatus(error));
    }
  };
}

export function toStatus(error: unknown): Partial<grpc.StatusObject> {
  if (error instanceof RpcError) return { code: error.code, details: error.message };
  return { code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error) };
}

export function structToJson(struct: unknown): Json {
  if (!isObject(struct)) return {};
  const decoded = helpers.fromValue({ kind: 'structValue', structValue: struct } as Value);
  return isObject(decoded) ? decoded : {};
}

export function structOf(value: Json): Json {
  const converted = helpers.toValue(value);
  return isObject(converted) && isObject(converted.structValue) ? converted.structValue : { fields: {} };
}

export function timestamp(date: Date): Json {
  return { seconds: String(Math.floor(date.getTime() / 1000)), nanos: (date.getTime() % 1000) * 1e6 };
}

export function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
