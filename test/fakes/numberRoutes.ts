import type { AgentClient } from '../../shared/agent/agentClient.js';
import { createNumberRoutes, type NumberRoutes } from '../../shared/core/numberRoutes.js';

/** The routing of a deployment with AGENT_ENGINE alone: every business number gets this agent and the deployment's settings. */
export function oneAgentForEveryNumber(agent: AgentClient): NumberRoutes<AgentClient> {
  return createNumberRoutes({
    defaultEngine: 'projects/test/locations/us-central1/reasoningEngines/test-agent',
    enginesByNumber: {},
    settingsByNumber: {},
    agentFor: () => agent,
  });
}
