import type { AgentClient } from './agentClient.js';
import { createRegionalConnections, createVertexAgentClient, engineLocation, type VertexAgentClientOptions } from './vertexAgentClient.js';

export interface VertexAgents {
  /** The client of one engine, made once and kept. */
  agentFor(engine: string): AgentClient;
  /** The regions with an open connection (one gRPC client each, whatever the number of engines in it). */
  readonly locations: readonly string[];
  /** Connects each of these engines' regions once, before their first call (RegionalConnections.warmUp). */
  warmUp(engines: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Agent clients for several engines (AGENT_ENGINE_BY_NUMBER): one per engine, sharing one
 * connection per region, each on its regional endpoint unless VERTEX_API_ENDPOINT overrides it.
 */
export function createVertexAgents(options: Omit<VertexAgentClientOptions, 'engine' | 'connections'>): VertexAgents {
  const connections = createRegionalConnections(options.apiEndpoint);
  const agents = new Map<string, AgentClient>();
  return {
    agentFor(engine) {
      let agent = agents.get(engine);
      if (!agent) {
        agent = createVertexAgentClient({ ...options, engine, connections });
        agents.set(engine, agent);
      }
      return agent;
    },
    get locations() {
      return connections.locations;
    },
    async warmUp(engines) {
      const locations = new Set(engines.map(engineLocation));
      await Promise.all([...locations].map((location) => connections.warmUp(location)));
    },
    async close() {
      agents.clear();
      await connections.close();
    },
  };
}
