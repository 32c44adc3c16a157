import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, webhookConfigSchema, workerConfigSchema } from './config.js';

const workerEnv = {
  GOOGLE_CLOUD_PROJECT: 'p',
  WHATSAPP_ACCESS_TOKEN: 'access-token',
  AGENT_ENGINE: 'projects/p/locations/us-central1/reasoningEngines/123',
};
const webhookEnv = { GOOGLE_CLOUD_PROJECT: 'p', WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_APP_SECRET: 's' };
const SUPPORT = 'projects/p/locations/europe-west1/reasoningEngines/support';
const SALES = 'projects/p/locations/us-central1/reasoningEngines/sales';

function configError(env: Record<string, string>): string {
  try {
    loadConfig(workerConfigSchema, { ...workerEnv, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('AGENT_ENGINE_BY_NUMBER', () => {
  it('reads a map of phone-number ids to engines, in any region', () => {
    const config = loadConfig(workerConfigSchema, {
      ...workerEnv,
      AGENT_ENGINE_BY_NUMBER: JSON.stringify({ '111111111111111': SUPPORT, '222222222222222': SALES }),
    });
    expect(config.AGENT_ENGINE_BY_NUMBER).toEqual({ '111111111111111': SUPPORT, '222222222222222': SALES });
  });

  it.each([undefined, '', '  '])('is an empty map when unset or empty (%j)', (value) => {
    const env = value === undefined ? workerEnv : { ...workerEnv, AGENT_ENGINE_BY_NUMBER: value };
    expect(loadConfig(workerConfigSchema, env).AGENT_ENGINE_BY_NUMBER).toEqual({});
  });

  it.each([
    ['malformed JSON', '{"111": "projects/p/locations/l/reasoningEngines/1",}', /AGENT_ENGINE_BY_NUMBER: not valid JSON/],
    ['a JSON array', `["${SUPPORT}"]`, /AGENT_ENGINE_BY_NUMBER: expected a JSON object/],
    ['a JSON string', `"${SUPPORT}"`, /AGENT_ENGINE_BY_NUMBER: expected a JSON object/],
    ['JSON null', 'null', /AGENT_ENGINE_BY_NUMBER: expected a JSON object/],
    ['a key that is not a phone_number_id', `{"+34 600 000 000": "${SUPPORT}"}`, /AGENT_ENGINE_BY_NUMBER: entry "\+34 600 000 000": the key must be a phone_number_id/],
    ['an engine id without its path', '{"111": "support-agent"}', /AGENT_ENGINE_BY_NUMBER: entry "111": expected projects\/P\/locations\/L\/reasoningEngines\/ID, got "support-agent"/],
    ['an engine with a missing location', '{"111": "projects/p/reasoningEngines/1"}', /entry "111": expected projects\/P/],
    ['an engine with a trailing segment', `{"111": "${SUPPORT}/sessions/9"}`, /entry "111": expected projects\/P/],
    ['an empty engine', '{"111": ""}', /entry "111": expected projects\/P\/locations\/L\/reasoningEngines\/ID, got ""/],
    ['an engine that is not a string', '{"111": 42}', /entry "111": expected projects\/P\/locations\/L\/reasoningEngines\/ID, got 42/],
    ['an engine given as an object', `{"111": {"engine": "${SUPPORT}"}}`, /entry "111": expected projects\/P/],
  ])('stops start-up on %s, naming the variable and the entry', (_shape, value, expected) => {
    expect(configError({ AGENT_ENGINE_BY_NUMBER: value })).toMatch(expected);
  });

  it('names every bad entry at once, and only those', () => {
    const message = configError({ AGENT_ENGINE_BY_NUMBER: JSON.stringify({ '111': SUPPORT, '222': 'x', abc: SALES }) });
    expect(message).toContain('entry "222"');
    expect(message).toContain('entry "abc"');
    expect(message).not.toContain('entry "111"');
  });

  it('lets the map stand without AGENT_ENGINE (numbers not in it then have no agent), but not neither', () => {
    const { AGENT_ENGINE: _, ...withoutDefault } = workerEnv;
    const mapOnly = loadConfig(workerConfigSchema, { ...withoutDefault, AGENT_ENGINE_BY_NUMBER: `{"111": "${SUPPORT}"}` });
    expect(mapOnly.AGENT_ENGINE).toBeUndefined();
    expect(mapOnly.AGENT_ENGINE_BY_NUMBER).toEqual({ '111': SUPPORT });
    for (const env of [withoutDefault, { ...withoutDefault, AGENT_ENGINE: '', AGENT_ENGINE_BY_NUMBER: '{}' }]) {
      expect(() => loadConfig(workerConfigSchema, env)).toThrow(/AGENT_ENGINE: required unless AGENT_ENGINE_BY_NUMBER names the agents/);
    }
    expect(configError({ AGENT_ENGINE: 'support-agent' })).toMatch(/AGENT_ENGINE: expected projects\/P\/locations\/L\/reasoningEngines\/ID/);
  });

  it('is validated on the webhook too (its admin routes delete sessions on the right agent)', () => {
    expect(loadConfig(webhookConfigSchema, { ...webhookEnv, AGENT_ENGINE_BY_NUMBER: `{"111": "${SALES}"}` }).AGENT_ENGINE_BY_NUMBER).toEqual({
      '111': SALES,
    });
    expect(() => loadConfig(webhookConfigSchema, { ...webhookEnv, AGENT_ENGINE_BY_NUMBER: '{"111": "sales"}' })).toThrow(
      /AGENT_ENGINE_BY_NUMBER: entry "111"/,
    );
  });
});

describe('TEXTS_BY_NUMBER', () => {
  it('reads each number\'s texts under the variables\' own names, as the core\'s settings', () => {
    const config = loadConfig(workerConfigSchema, {
      ...workerEnv,
      TEXTS_BY_NUMBER: JSON.stringify({
        '111': { APOLOGY_TEXT: 'Lo siento, inténtalo más tarde.', WELCOME_TEXT: '¡Hola!', OPT_OUT_CONFIRM_TEXT: 'No te escribiremos más.' },
        '222': { WELCOME_TEXT: '' },
      }),
    });
    expect(config.TEXTS_BY_NUMBER).toEqual({
      '111': { apologyText: 'Lo siento, inténtalo más tarde.', welcomeText: '¡Hola!', optOutConfirmText: 'No te escribiremos más.' },
      '222': { welcomeText: '' },
    });
  });

  it('accepts every documented text', () => {
    const all = {
      APOLOGY_TEXT: 'a',
      UNSUPPORTED_TEXT: 'b',
      MEDIA_UNSUPPORTED_TEXT: 'c',
      MEDIA_TOO_LARGE_TEXT: 'c2',
      SLOW_DOWN_TEXT: 'd',
      RESET_CONFIRM_TEXT: 'e',
      WELCOME_TEXT: 'f',
      OPT_OUT_CONFIRM_TEXT: 'g',
      OPT_IN_CONFIRM_TEXT: 'h',
    };
    const texts = loadConfig(workerConfigSchema, { ...workerEnv, TEXTS_BY_NUMBER: JSON.stringify({ '111': all }) }).TEXTS_BY_NUMBER;
    expect(Object.values(texts['111']!).sort()).toEqual(['a', 'b', 'c', 'c2', 'd', 'e', 'f', 'g', 'h']);
  });

  it.each([
    ['malformed JSON', "{'111': {}}", /TEXTS_BY_NUMBER: not valid JSON/],
    ['a JSON array', '[{"APOLOGY_TEXT": "x"}]', /TEXTS_BY_NUMBER: expected a JSON object/],
    ['a key that is not a phone_number_id', '{"support": {"APOLOGY_TEXT": "x"}}', /TEXTS_BY_NUMBER: entry "support": the key must be a phone_number_id/],
    ['a number whose texts are a string', '{"111": "Lo siento"}', /TEXTS_BY_NUMBER: entry "111": expected an object like \{"APOLOGY_TEXT": "…"\}, got "Lo siento"/],
    ['a number whose texts are null', '{"111": null}', /entry "111": expected an object/],
    ['a misspelt text name', '{"111": {"APOLOGIE_TEXT": "x"}}', /TEXTS_BY_NUMBER: entry "111": unknown setting "APOLOGIE_TEXT" \(expected one of APOLOGY_TEXT, /],
    ['a setting a number cannot change', '{"111": {"AGENT_ENGINE": "x"}}', /entry "111": unknown setting "AGENT_ENGINE"/],
    ['an empty opt-out word list', '{"111": {"OPT_OUT_COMMANDS": " , "}}', /entry "111": OPT_OUT_COMMANDS must name at least one comma-separated word/],
    ['a word list given as an array', '{"111": {"RESET_COMMANDS": ["/reset"]}}', /entry "111": RESET_COMMANDS must be a string, got \["\/reset"\]/],
    ['a template language that is not a code', '{"111": {"REENGAGE_TEMPLATE_LANGUAGE": "Portuguese"}}', /entry "111": REENGAGE_TEMPLATE_LANGUAGE: expected a language code like es or en_US, got "Portuguese"/],
    ['a text that is not a string', '{"111": {"SLOW_DOWN_TEXT": 5}}', /TEXTS_BY_NUMBER: entry "111": SLOW_DOWN_TEXT must be a string, got 5/],
    ['an empty apology', '{"111": {"APOLOGY_TEXT": " "}}', /TEXTS_BY_NUMBER: entry "111": APOLOGY_TEXT must not be empty/],
  ])('stops start-up on %s, naming the variable and the entry', (_shape, value, expected) => {
    expect(configError({ TEXTS_BY_NUMBER: value })).toMatch(expected);
  });

  it('reads a number\'s command words as the deployment\'s are read (trimmed, lower case, NFC)', () => {
    const config = loadConfig(workerConfigSchema, {
      ...workerEnv,
      TEXTS_BY_NUMBER: JSON.stringify({ '111': { OPT_OUT_COMMANDS: ' SAIR, Parar ,', OPT_IN_COMMANDS: 'voltar', RESET_COMMANDS: '/Recomeçar' } }),
    });
    expect(config.TEXTS_BY_NUMBER['111']).toEqual({ optOutCommands: ['sair', 'parar'], optInCommands: ['voltar'], resetCommands: ['/recomeçar'] });
  });

  it('lets a number switch its reset words off, never its opt-out or opt-in words', () => {
    const config = loadConfig(workerConfigSchema, { ...workerEnv, TEXTS_BY_NUMBER: JSON.stringify({ '111': { RESET_COMMANDS: '' } }) });
    expect(config.TEXTS_BY_NUMBER['111']).toEqual({ resetCommands: [] });
    expect(configError({ TEXTS_BY_NUMBER: '{"111": {"OPT_IN_COMMANDS": ""}}' })).toMatch(/entry "111": OPT_IN_COMMANDS must name at least one comma-separated word/);
  });

  it('reads a number\'s re-engagement template as given: a name, a language, or "" for none', () => {
    const config = loadConfig(workerConfigSchema, {
      ...workerEnv,
      TEXTS_BY_NUMBER: JSON.stringify({
        '111': { REENGAGE_TEMPLATE: 'volte_sempre', REENGAGE_TEMPLATE_LANGUAGE: 'pt_BR' },
        '222': { REENGAGE_TEMPLATE_LANGUAGE: 'es' },
        '333': { REENGAGE_TEMPLATE: '' },
      }),
    });
    expect(config.TEXTS_BY_NUMBER).toEqual({
      '111': { reengageTemplateName: 'volte_sempre', reengageTemplateLanguage: 'pt_BR' },
      '222': { reengageTemplateLanguage: 'es' },
      '333': { reengageTemplateName: '' },
    });
  });

  it('reports a bad map alongside the other bad variables', () => {
    const message = configError({ TEXTS_BY_NUMBER: '{', AGENT_ENGINE_BY_NUMBER: '{"1": "x"}', SESSION_TTL_HOURS: '0' });
    expect([...message.matchAll(/^ {2}(\S+):/gm)].map((match) => match[1]).sort()).toEqual([
      'AGENT_ENGINE_BY_NUMBER',
      'SESSION_TTL_HOURS',
      'TEXTS_BY_NUMBER',
    ]);
  });
});
