import { describe, expect, it } from 'vitest';
import { loadConfig, workerConfigSchema } from '../../shared/config/config.js';
import { settingsByNumber } from './workerSettings.js';

const workerEnv = {
  GOOGLE_CLOUD_PROJECT: 'p',
  WHATSAPP_ACCESS_TOKEN: 'access-token',
  AGENT_ENGINE: 'projects/p/locations/us-central1/reasoningEngines/123',
};

function numbersOf(env: Record<string, string>, texts: Record<string, Record<string, string>>) {
  return settingsByNumber(loadConfig(workerConfigSchema, { ...workerEnv, ...env, TEXTS_BY_NUMBER: JSON.stringify(texts) }));
}

describe('settingsByNumber (TEXTS_BY_NUMBER as the core applies it)', () => {
  it('completes a number\'s template with the deployment\'s name or language', () => {
    const numbers = numbersOf(
      { REENGAGE_TEMPLATE: 'come_back', REENGAGE_TEMPLATE_LANGUAGE: 'en_US' },
      {
        '111': { REENGAGE_TEMPLATE: 'volte_sempre', REENGAGE_TEMPLATE_LANGUAGE: 'pt_BR' },
        '222': { REENGAGE_TEMPLATE_LANGUAGE: 'es' },
        '333': { REENGAGE_TEMPLATE: 'vuelve' },
        '444': { REENGAGE_TEMPLATE: '' },
        '555': { SLOW_DOWN_TEXT: 'Más despacio.' },
      },
    );
    expect(numbers['111']).toEqual({ reengageTemplate: { name: 'volte_sempre', language: 'pt_BR' } });
    expect(numbers['222']).toEqual({ reengageTemplate: { name: 'come_back', language: 'es' } });
    expect(numbers['333']).toEqual({ reengageTemplate: { name: 'vuelve', language: 'en_US' } });
    // "" switches the deployment's template off on that number: the key is there, with no template.
    expect(numbers['444']).toHaveProperty('reengageTemplate', undefined);
    // A number that does not mention the template keeps the deployment's (no key at all).
    expect(numbers['555']).toEqual({ slowDownText: 'Más despacio.' });
  });

  it('gives a number a template of its own where the deployment has none, and none for a language alone', () => {
    const numbers = numbersOf({}, { '111': { REENGAGE_TEMPLATE: 'volte_sempre' }, '222': { REENGAGE_TEMPLATE_LANGUAGE: 'es' } });
    expect(numbers['111']).toEqual({ reengageTemplate: { name: 'volte_sempre', language: 'en_US' } });
    expect(numbers['222']).toHaveProperty('reengageTemplate', undefined);
  });

  it('passes texts and words through', () => {
    expect(numbersOf({}, { '111': { OPT_OUT_COMMANDS: 'sair', APOLOGY_TEXT: 'Desculpe.' } })['111']).toEqual({
      optOutCommands: ['sair'],
      apologyText: 'Desculpe.',
    });
  });
});
