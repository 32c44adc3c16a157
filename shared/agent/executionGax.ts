import { createRequire } from 'node:module';
import * as gax from 'google-gax';
import executionProtos from './executionProtos.json' with { type: 'json' };

/**
 * aiplatform's protos.json, the object the execution client module itself required (same file,
 * same module cache): every v1 and v1beta1 service and message.
 */
const aiplatformProtos: unknown = createRequire(import.meta.url)('@google-cloud/aiplatform/build/protos/protos.json');

/** Our cut-down protos (scripts/trimAgentProtos.ts) wherever the client hands gax the whole file. */
const protosFor = <T>(json: T): T => (json === aiplatformProtos ? (executionProtos as T) : json);

/**
 * google-gax as ReasoningEngineExecutionServiceClient takes it (its documented `gaxInstance`
 * argument), except that aiplatform's whole protos.json becomes shared/agent/executionProtos.json,
 * the 19 types this one service uses. The client turns the protos it is given into gRPC and
 * protobufjs definitions of every service and message in them, twice: with the whole file that
 * is about 85 MiB of the worker's memory and seconds of CPU per instance (bench/README.md,
 * Memory). Anything else gax is handed (the IAM and Locations mixins' own protos) passes as is.
 */
class ExecutionGrpcClient extends gax.GrpcClient {
  override loadProtoJSON(json: gax.protobuf.INamespace, ignoreCache?: boolean) {
    return super.loadProtoJSON(protosFor(json), ignoreCache);
  }
}

export const executionGax: typeof gax = {
  ...gax,
  GrpcClient: ExecutionGrpcClient,
  protobufFromJSON: (json, ignoreCache) => gax.protobufFromJSON(protosFor(json), ignoreCache),
};
