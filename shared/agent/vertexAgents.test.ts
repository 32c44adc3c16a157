import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalAgent, type LocalAgent } from '../../local/agent/localAgent.js';
import { SessionNotFoundError } from './agentClient.js';
import { clientOptions, createRegionalConnections } from './vertexAgentClient.js';
import { createVertexAgents, type VertexAgents } from './vertexAgents.js';

const SUPPORT = 'projects/local-project/locations/europe-west1/reasoningEngines/support';
const SALES = 'projects/local-project/locations/us-central1/reasoningEngines/sales';
const BILLING = 'projects/local-project/locations/us-central1/reasoningEngines/billing';

describe('clientOptions: each engine on its regional endpoint', () => {
  it.each([
    ['us-central1', 'us-central1-aiplatform.googleapis.com'],
    ['europe-west1', 'europe-west1-aiplatform.googleapis.com'],
    ['asia-northeast1', 'asia-northeast1-aiplatform.googleapis.com'],
    ['global', 'aiplatform.googleapis.com'],
  ])('%s → %s', (location, apiEndpoint) => {
    expect(clientOptions(undefined, location)).toEqual({ apiEndpoint });
  });

  it('VERTEX_API_ENDPOINT overrides every region; loopback means plain text without credentials', () => {
    expect(clientOptions('private.example.com', 'europe-west1')).toEqual({ apiEndpoint: 'private.example.com' });
    const local = clientOptions('127.0.0.1:9999', 'europe-west1');
    expect(local).toMatchObject({ apiEndpoint: '127.0.0.1', port: 9999 });
    expect(local?.sslCreds).toBeDefined();
    expect(local?.authClient).toBeDefined();
  });
});

/** Three engines in two regions, served by one local agent that answers as each (its own sessions each; all but the first name themselves in the echo). */
describe('createVertexAgents against the local agent', () => {
  let agent: LocalAgent;
  let agents: VertexAgents;

  beforeAll(async () => {
    agent = await startLocalAgent({ engines: [SUPPORT, SALES, BILLING] });
    agents = createVertexAgents({ apiEndpoint: agent.endpoint, timeoutMs: 5_000 });
  });

  afterAll(async () => {
    await agents.close();
    await agent.close();
  });

  beforeEach(() => agent.reset());

  it('sends each engine\'s turns to that engine, in that engine\'s sessions', async () => {
    const support = agents.agentFor(SUPPORT);
    const sales = agents.agentFor(SALES);
    const supportSession = await support.createSession('wa-1');
    const salesSession = await sales.createSession('wa-1');
    expect(agent.sessions.get(supportSession)).toMatchObject({ engine: SUPPORT, userId: 'wa-1' });
    expect(agent.sessions.get(salesSession)).toMatchObject({ engine: SALES, userId: 'wa-1' });

    await expect(support.query({ userId: 'wa-1', sessionId: supportSession, text: 'hola' })).resolves.toEqual([{ kind: 'text', text: 'Echo #1: hola' }]);
    await expect(sales.query({ userId: 'wa-1', sessionId: salesSession, text: 'hi' })).resolves.toEqual([{ kind: 'text', text: 'Echo #1 (sales): hi' }]);
    await expect(support.query({ userId: 'wa-1', sessionId: supportSession, text: 'otra' })).resolves.toEqual([{ kind: 'text', text: 'Echo #2: otra' }]);
    expect(agent.calls.map((call) => [call.engine, call.text])).toEqual([
      [SUPPORT, 'hola'],
      [SALES, 'hi'],
      [SUPPORT, 'otra'],
    ]);
  });

  it('does not find one engine\'s session on another (a user\'s two numbers never share one)', async () => {
    const supportSession = await agents.agentFor(SUPPORT).createSession('wa-2');
    await expect(agents.agentFor(SALES).query({ userId: 'wa-2', sessionId: supportSession, text: 'hi' })).rejects.toBeInstanceOf(
      SessionNotFoundError,
    );
  });

  it('keeps one client per engine and one connection per region', async () => {
    expect(agents.agentFor(SALES)).toBe(agents.agentFor(SALES));
    await agents.agentFor(BILLING).createSession('wa-3');
    expect(agents.locations.toSorted()).toEqual(['europe-west1', 'us-central1']);
  });

  it('reports an engine the agent does not serve as a permanent error, not a session to recreate', async () => {
    const unknown = agents.agentFor('projects/local-project/locations/us-central1/reasoningEngines/nobody');
    await expect(unknown.createSession('wa-4')).rejects.toMatchObject({
      name: 'PermanentError',
      reason: `agent_grpc_${grpc.status.NOT_FOUND}`,
      fields: { grpcCode: grpc.status.NOT_FOUND },
    });
  });

  it('warms up each engine\'s region once: its channel is connected and the agent has seen no call', async () => {
    const fresh = createVertexAgents({ apiEndpoint: agent.endpoint, timeoutMs: 5_000 });
    try {
      await fresh.warmUp([SUPPORT, SALES, BILLING]);
      expect(fresh.locations.toSorted()).toEqual(['europe-west1', 'us-central1']);
      expect(agent.calls).toEqual([]);
      expect(agent.sessions.size).toBe(0);
      await expect(fresh.agentFor(SALES).createSession('wa-5')).resolves.toEqual(expect.any(String));
    } finally {
      await fresh.close();
    }
  });
});

describe('RegionalConnections.warmUp', () => {
  it('leaves the region\'s gRPC channel READY before any call', async () => {
    const agent = await startLocalAgent({ engines: [SUPPORT] });
    const connections = createRegionalConnections(agent.endpoint);
    try {
      await connections.warmUp('europe-west1');
      const stub = (await connections.forLocation('europe-west1').initialize()) as unknown as grpc.Client;
      expect(stub.getChannel().getConnectivityState(false)).toBe(grpc.connectivityState.READY);
      expect(agent.calls).toEqual([]);
    } finally {
      await connections.close();
      await agent.close();
    }
  });
});
