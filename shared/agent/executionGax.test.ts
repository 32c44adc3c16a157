import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { protobuf } from 'google-gax';
import { describe, expect, it } from 'vitest';
import { EXECUTION_PROTOS_FILE, EXECUTION_SERVICE, trimmedExecutionProtos } from '../../scripts/trimAgentProtos.js';
import { executionGax } from './executionGax.js';

const aiplatformProtos = createRequire(import.meta.url)('@google-cloud/aiplatform/build/protos/protos.json') as protobuf.INamespace;

type GrpcTree = { [name: string]: GrpcTree | undefined };
const at = (tree: GrpcTree, name: string) => name.split('.').reduce<GrpcTree | undefined>((node, part) => node?.[part], tree);

describe('executionGax', () => {
  it('ships the cut-down protos of the installed @google-cloud/aiplatform (else: npx tsx scripts/trimAgentProtos.ts)', () => {
    expect(JSON.parse(readFileSync(EXECUTION_PROTOS_FILE, 'utf8'))).toEqual(trimmedExecutionProtos());
  });

  it('gives the client only the execution service when it hands gax the whole protos.json', () => {
    const loaded = new executionGax.GrpcClient().loadProtoJSON(aiplatformProtos) as unknown as GrpcTree;
    expect(at(loaded, EXECUTION_SERVICE)).toBeTypeOf('function');
    expect(at(loaded, 'google.cloud.aiplatform.v1.DatasetService')).toBeUndefined();
    expect(at(loaded, 'google.cloud.aiplatform.v1beta1')).toBeUndefined();

    const root = executionGax.protobufFromJSON(aiplatformProtos);
    expect(root.lookupType('google.cloud.aiplatform.v1.AsyncQueryReasoningEngineOperationMetadata')).toBeDefined();
    expect(root.lookup('google.cloud.aiplatform.v1.Dataset')).toBeNull();
  });

  it('passes any other protos through as they are (the IAM and Locations mixins bring their own)', () => {
    const other = {
      nested: {
        demo: {
          nested: {
            Ping: { fields: { id: { type: 'string', id: 1 } } },
            Pinger: { methods: { Ping: { requestType: 'Ping', responseType: 'Ping' } } },
          },
        },
      },
    };
    const loaded = new executionGax.GrpcClient().loadProtoJSON(other as protobuf.INamespace) as unknown as GrpcTree;
    expect(at(loaded, 'demo.Pinger')).toBeTypeOf('function');
    expect(executionGax.protobufFromJSON(other).lookupType('demo.Ping').fieldsArray.map((field) => field.name)).toEqual(['id']);
  });
});
