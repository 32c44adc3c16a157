/**
 * Writes shared/agent/executionProtos.json: the part of @google-cloud/aiplatform's protos.json
 * that the ReasoningEngineExecutionService client needs (the service, every message its methods
 * reach, and the types its constructor looks up by name). shared/agent/executionGax.ts hands it
 * to the client in place of the whole file. Run it after upgrading @google-cloud/aiplatform
 * (shared/agent/executionGax.test.ts fails until the committed file matches the library):
 *
 *   npx tsx scripts/trimAgentProtos.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { protobuf } from 'google-gax';

const require = createRequire(import.meta.url);
export const EXECUTION_SERVICE = 'google.cloud.aiplatform.v1.ReasoningEngineExecutionService';
const CLIENT_MODULE = '@google-cloud/aiplatform/build/src/v1/reasoning_engine_execution_service_client.js';
export const EXECUTION_PROTOS_FILE = fileURLToPath(new URL('../shared/agent/executionProtos.json', import.meta.url));

type ProtoJson = { nested?: Record<string, ProtoJson>; [key: string]: unknown };

/** aiplatform's protos.json cut down to what the execution service client uses. */
export function trimmedExecutionProtos(): ProtoJson {
  const full = require('@google-cloud/aiplatform/build/protos/protos.json') as ProtoJson;
  const root = protobuf.Root.fromJSON(full);
  root.resolveAll();

  const needed = new Set<string>();
  const add = (type: protobuf.ReflectionObject | null) => {
    if (!type || needed.has(type.fullName)) return;
    needed.add(type.fullName);
    if (type instanceof protobuf.Type) for (const field of type.fieldsArray) add(field.resolvedType);
  };
  const service = root.lookupService(EXECUTION_SERVICE);
  needed.add(service.fullName);
  for (const method of service.methodsArray) {
    add(method.resolvedRequestType);
    add(method.resolvedResponseType);
  }
  // The constructor looks these up by name (long-running operations' result and metadata types).
  const clientSource = readFileSync(require.resolve(CLIENT_MODULE), 'utf8');
  for (const [, name] of clientSource.matchAll(/\.lookup\('\.([\w.]+)'\)/g)) {
    const type = root.lookup(name!);
    if (!type) throw new Error(`${CLIENT_MODULE} looks up ${name}, which protos.json lacks`);
    add(type);
  }

  // Keep a definition if it is needed, a namespace (or message) only for what it holds that is.
  const keep = (node: ProtoJson, path: string): ProtoJson | undefined => {
    const nested = Object.entries(node.nested ?? {}).flatMap(([name, child]) => {
      const kept = keep(child, `${path}.${name}`);
      return kept ? [[name, kept] as const] : [];
    });
    if (!needed.has(path) && nested.length === 0) return undefined;
    const { nested: _all, ...definition } = node;
    const isDefinition = needed.has(path);
    return { ...(isDefinition ? definition : namespaceOptions(definition)), ...(nested.length ? { nested: Object.fromEntries(nested) } : {}) };
  };
  return keep(full, '') ?? {};
}

/** A container kept only for its contents keeps its options (package names), not its fields. */
function namespaceOptions(definition: Record<string, unknown>): Record<string, unknown> {
  return definition.options ? { options: definition.options } : {};
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(EXECUTION_PROTOS_FILE, `${JSON.stringify(trimmedExecutionProtos(), null, 2)}\n`);
  console.log(`wrote ${EXECUTION_PROTOS_FILE}`);
}
