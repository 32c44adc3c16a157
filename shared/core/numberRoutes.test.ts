import { describe, expect, it } from 'vitest';
import { agentEngineFor, createNumberRoutes, settingsFor, type NumberSettings } from './numberRoutes.js';

const DEFAULT_ENGINE = 'projects/p/locations/us-central1/reasoningEngines/default';
const SPANISH = 'projects/p/locations/europe-west1/reasoningEngines/soporte';
const ENGLISH = 'projects/p/locations/us-east4/reasoningEngines/sales';

/** Agents are labelled by engine so a test sees which one a route holds, and how many were made. */
function routesWith(options: { defaultEngine?: string; enginesByNumber?: Record<string, string>; settingsByNumber?: Record<string, Partial<NumberSettings>> }) {
  const made: string[] = [];
  const routes = createNumberRoutes({
    enginesByNumber: {},
    settingsByNumber: {},
    ...options,
    agentFor: (engine) => {
      made.push(engine);
      return { engine };
    },
  });
  return { routes, made };
}

describe('createNumberRoutes', () => {
  const enginesByNumber = { '111': SPANISH, '222': ENGLISH };

  it.each([
    ['a number in the map', { defaultEngine: DEFAULT_ENGINE, enginesByNumber }, '111', SPANISH],
    ['another number in the map', { defaultEngine: DEFAULT_ENGINE, enginesByNumber }, '222', ENGLISH],
    ['a number not in the map, with AGENT_ENGINE', { defaultEngine: DEFAULT_ENGINE, enginesByNumber }, '333', DEFAULT_ENGINE],
    ['any number with AGENT_ENGINE alone', { defaultEngine: DEFAULT_ENGINE }, '333', DEFAULT_ENGINE],
    ['a number in the map without AGENT_ENGINE', { enginesByNumber }, '222', ENGLISH],
  ])('routes %s to its agent', (_case, options, number, engine) => {
    const route = routesWith(options).routes.route(number);
    expect(route).toMatchObject({ kind: 'agent', phoneNumberId: number, engine, agent: { engine } });
  });

  it('answers "no agent" with a reason naming the number and both settings when neither matches', () => {
    const route = routesWith({ enginesByNumber }).routes.route('333');
    expect(route.kind).toBe('no-agent');
    expect(route).toMatchObject({ phoneNumberId: '333' });
    expect(agentEngineFor('333', { enginesByNumber })).toBeUndefined();
    if (route.kind !== 'no-agent') throw new Error('unreachable');
    expect(route.reason).toMatch(/333.*AGENT_ENGINE_BY_NUMBER.*AGENT_ENGINE is not set/);
  });

  it('does not read inherited keys as numbers', () => {
    expect(routesWith({ enginesByNumber }).routes.route('constructor').kind).toBe('no-agent');
    expect(routesWith({ defaultEngine: DEFAULT_ENGINE, enginesByNumber }).routes.route('__proto__')).toMatchObject({ engine: DEFAULT_ENGINE });
  });

  it('gives each number the settings it changes, and none to the others (they keep the deployment\'s)', () => {
    const settingsByNumber: Record<string, Partial<NumberSettings>> = {
      '111': { apologyText: 'Lo siento.', welcomeText: '', optOutCommands: ['baja'] },
      '444': { slowDownText: 'Más despacio.' },
    };
    const { routes } = routesWith({ defaultEngine: DEFAULT_ENGINE, enginesByNumber, settingsByNumber });
    expect(routes.settingsOf('111')).toEqual({ apologyText: 'Lo siento.', welcomeText: '', optOutCommands: ['baja'] });
    expect(routes.settingsOf('222')).toEqual({});
    // A number the map does not name (served by AGENT_ENGINE) has its settings too.
    expect(routes.route('444')).toMatchObject({ kind: 'agent', engine: DEFAULT_ENGINE });
    expect(routes.settingsOf('444')).toEqual({ slowDownText: 'Más despacio.' });
    expect(routes.settingsOf('constructor')).toEqual({});
    // Without an agent a number still has its settings: its STOP and START are recorded and confirmed in its words; its other turns fail (no_agent_for_number).
    expect(routesWith({ settingsByNumber }).routes.settingsOf('111')).toEqual(settingsByNumber['111']);
  });

  it('applies a number\'s settings over the deployment\'s, an explicit absence included', () => {
    const deployment = { optOutCommands: ['stop'], slowDownText: 'Slow down.', reengageTemplate: { name: 'come_back', language: 'en_US' } };
    const { routes } = routesWith({ settingsByNumber: { '111': { optOutCommands: ['sair', 'parar'], reengageTemplate: undefined } } });
    expect(settingsFor({ settings: deployment, numbers: routes }, '111')).toEqual({ optOutCommands: ['sair', 'parar'], slowDownText: 'Slow down.', reengageTemplate: undefined });
    expect(settingsFor({ settings: deployment, numbers: routes }, '222')).toEqual(deployment);
  });

  it('lists every engine a message can reach once, the default included', () => {
    expect(routesWith({ defaultEngine: SPANISH, enginesByNumber: { ...enginesByNumber, '333': SPANISH } }).routes.engines.toSorted()).toEqual(
      [ENGLISH, SPANISH].toSorted(),
    );
    expect(routesWith({}).routes.engines).toEqual([]);
  });

  it('asks for an engine\'s agent only when a message is routed to it', () => {
    const { routes, made } = routesWith({ defaultEngine: DEFAULT_ENGINE, enginesByNumber });
    expect(made).toEqual([]);
    routes.route('111');
    routes.route('333');
    expect(made).toEqual([SPANISH, DEFAULT_ENGINE]);
  });
});
