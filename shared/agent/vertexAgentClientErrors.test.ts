import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindInsecure, loadServices, type Json } from '../../local/agent/aiplatformGrpc.js';
import { LOCAL_AGENT_ENGINE, startLocalAgent, type LocalAgent } from '../../local/agent/localAgent.js';
import { SessionNotFoundError } from './agentClient.js';
import { createVertexAgentClient } from './vertexAgentClient.js';

type Script = (call: grpc.ServerWritableStream<Json, Json>) => Promise<void>;

const write = (call: grpc.ServerWritableStream<Json, Json>, line: unknown) =>
  new Promise<void>((resolve, reject) =>
    call.write({ contentType: 'application/json', data: Buffer.from(`${JSON.stringify(line)}\n`) }, (e: Error | null | undefined) => (e ? reject(e) : resolve())),
  );

/** A scripted Agent Engine: the stream query writes whatever lines a test gives it. */
describe('in-band errors of async_stream_query', () => {
  let server: grpc.Server;
  let endpoint: string;
  let script: Script = async () => {};

  beforeAll(async () => {
    const services = loadServices();
    server = new grpc.Server();
    server.addService(services.execution, {
      QueryReasoningEngine: (_call: unknown, cb: grpc.sendUnaryData<Json>) => cb({ code: grpc.status.UNIMPLEMENTED }),
      StreamQueryReasoningEngine: (call: grpc.ServerWritableStream<Json, Json>) => {
        script(call).catch(() => {});
      },
    });
    endpoint = await bindInsecure(server, '127.0.0.1', 0);
  });
  afterAll(() => server.forceShutdown());

  const turn = { userId: 'u', sessionId: '123', text: 'hi' };
  const run = async () => {
    const client = createVertexAgentClient({ engine: LOCAL_AGENT_ENGINE, apiEndpoint: endpoint, timeoutMs: 2000 });
    try {
      return await client.query(turn).then(
        (reply) => ({ resolved: reply }),
        (error: unknown) => ({ rejected: error }),
      );
    } finally {
      await client.close();
    }
  };

  it('a session that is gone, reported in-band as a bare {code, message} line, is a SessionNotFoundError', async () => {
    script = async (call) => {
      await write(call, { code: 500, message: 'ValueError: Session not found: 123' });
      call.end();
    };
    const outcome = await run();
    expect('rejected' in outcome && outcome.rejected).toBeInstanceOf(SessionNotFoundError);
  });

  it('a session of another user, reported in-band as an ADK error event, is a SessionNotFoundError', async () => {
    script = async (call) => {
      await write(call, { author: 'agent', error_code: 'INTERNAL', error_message: 'Session 123 does not belong to user u.' });
      call.end();
    };
    const outcome = await run();
    expect('rejected' in outcome && outcome.rejected).toBeInstanceOf(SessionNotFoundError);
  });

});

describe('the engine, not a session, is missing', () => {
  let agent: LocalAgent;
  beforeAll(async () => {
    agent = await startLocalAgent();
  });
  afterAll(() => agent.close());

  it('deleteSession on an engine that does not exist is an error, not "already gone"', async () => {
    const wrong = createVertexAgentClient({
      engine: 'projects/local-project/locations/us-central1/reasoningEngines/missing',
      apiEndpoint: agent.endpoint,
      timeoutMs: 2000,
    });
    try {
      await expect(wrong.deleteSession('wa-1', '1234567890123456789')).rejects.toMatchObject({ name: 'PermanentError', reason: 'agent_grpc_5' });
    } finally {
      await wrong.close();
    }
  });
});
