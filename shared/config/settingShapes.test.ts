import { describe, expect, it } from 'vitest';
import { loadConfig, webhookConfigSchema, workerConfigSchema } from './config.js';
import { createVertexAgents } from '../agent/vertexAgents.js';

const workerEnv = { GOOGLE_CLOUD_PROJECT: 'p', WHATSAPP_ACCESS_TOKEN: 'access-token', AGENT_ENGINE: 'projects/p/locations/us-central1/reasoningEngines/123' };
const webhookEnv = { GOOGLE_CLOUD_PROJECT: 'p', WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_APP_SECRET: 's' };

describe('settings that must stop start-up, or count as unset', () => {
  it('webhook: a malformed AGENT_ENGINE stops start-up, as on the worker', () => {
    expect(() => loadConfig(workerConfigSchema, { ...workerEnv, AGENT_ENGINE: 'support-agent' })).toThrow(/AGENT_ENGINE/);
    // The webhook's admin routes build a client from it; that throws at request time instead.
    expect(() => createVertexAgents({ timeoutMs: 1000 }).agentFor('support-agent')).toThrow(/reasoningEngines/);
    expect(() => loadConfig(webhookConfigSchema, { ...webhookEnv, AGENT_ENGINE: 'support-agent' })).toThrow(/AGENT_ENGINE/);
  });

  it.each([
    ['a location with a space (becomes the gRPC host name)', 'projects/p/locations/europe west1/reasoningEngines/1'],
    ['a trailing newline (a secret read from a file)', 'projects/p/locations/europe-west1/reasoningEngines/1\n'],
    ['a location with a port in it', 'projects/p/locations/europe-west1:443/reasoningEngines/1'],
  ])('AGENT_ENGINE_BY_NUMBER: an engine name with %s stops start-up', (_what, engine) => {
    expect(() => loadConfig(workerConfigSchema, { ...workerEnv, AGENT_ENGINE_BY_NUMBER: JSON.stringify({ '111': engine }) })).toThrow(
      /AGENT_ENGINE_BY_NUMBER/,
    );
  });

  it('AGENT_ENGINE with a trailing newline stops start-up', () => {
    expect(() => loadConfig(workerConfigSchema, { ...workerEnv, AGENT_ENGINE: `${workerEnv.AGENT_ENGINE}\n` })).toThrow(/AGENT_ENGINE/);
  });

  it('a blank APOLOGY_TEXT stops start-up, as it does in TEXTS_BY_NUMBER', () => {
    expect(() => loadConfig(workerConfigSchema, { ...workerEnv, TEXTS_BY_NUMBER: '{"111": {"APOLOGY_TEXT": "   "}}' })).toThrow(/APOLOGY_TEXT must not be empty/);
    expect(() => loadConfig(workerConfigSchema, { ...workerEnv, APOLOGY_TEXT: '   ' })).toThrow(/APOLOGY_TEXT/);
  });

  it('a blank REENGAGE_TEMPLATE is none, as it is in TEXTS_BY_NUMBER', () => {
    expect(loadConfig(workerConfigSchema, { ...workerEnv, REENGAGE_TEMPLATE: '  ' }).REENGAGE_TEMPLATE).toBeUndefined();
  });

  it('VERTEX_API_ENDPOINT given as a URL stops start-up', () => {
    expect(() => loadConfig(workerConfigSchema, { ...workerEnv, VERTEX_API_ENDPOINT: 'https://us-central1-aiplatform.googleapis.com' })).toThrow(/VERTEX_API_ENDPOINT/);
  });
});
