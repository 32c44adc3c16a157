import * as z from '../zodMini.js';
import { normaliseCommand } from '../core/consentCommands.js';
import type { CommandWords, FixedTexts } from '../core/numberRoutes.js';

/**
 * `projects/P/locations/L/reasoningEngines/ID`; the location picks the regional endpoint, so it is
 * a DNS label (no space, port or stray newline from a file-read secret).
 */
export const AGENT_ENGINE_NAME = /^projects\/[^/\s]+\/locations\/[a-z0-9-]+\/reasoningEngines\/[A-Za-z0-9_-]+$/;
export const AGENT_ENGINE_SHAPE = 'expected projects/P/locations/L/reasoningEngines/ID';

/** Meta's phone-number ids (`metadata.phone_number_id`) are all digits. */
const PHONE_NUMBER_ID = /^\d{1,32}$/;

/** The fixed replies one business number may answer with instead of the deployment-wide variables of the same names. */
const TEXT_SETTING_OF = {
  APOLOGY_TEXT: 'apologyText',
  UNSUPPORTED_TEXT: 'unsupportedText',
  MEDIA_UNSUPPORTED_TEXT: 'mediaUnsupportedText',
  MEDIA_TOO_LARGE_TEXT: 'mediaTooLargeText',
  SLOW_DOWN_TEXT: 'slowDownText',
  RESET_CONFIRM_TEXT: 'resetConfirmText',
  WELCOME_TEXT: 'welcomeText',
  OPT_OUT_CONFIRM_TEXT: 'optOutConfirmText',
  OPT_IN_CONFIRM_TEXT: 'optInConfirmText',
} as const satisfies Record<string, keyof FixedTexts>;

/** The words one business number understands instead of the deployment's: comma-separated, like the variables of the same names. */
const WORDS_SETTING_OF = {
  RESET_COMMANDS: 'resetCommands',
  OPT_OUT_COMMANDS: 'optOutCommands',
  OPT_IN_COMMANDS: 'optInCommands',
} as const satisfies Record<string, keyof CommandWords>;

/** Every name a TEXTS_BY_NUMBER entry may set. */
const NUMBER_SETTING_VARIABLES = [...Object.keys(TEXT_SETTING_OF), ...Object.keys(WORDS_SETTING_OF), 'REENGAGE_TEMPLATE', 'REENGAGE_TEMPLATE_LANGUAGE'];

/** A comma-separated list of command words, each as a message is compared with it. */
export function commandWords(list: string): string[] {
  return list.split(',').map(normaliseCommand).filter(Boolean);
}

export const TEMPLATE_LANGUAGE = /^[a-z]{2,3}(_[A-Z]{2})?$/;

/**
 * One TEXTS_BY_NUMBER entry, read: its texts and words, and the re-engagement template as given
 * (a name, `""` for none on that number, and/or a language; the worker completes it with the
 * deployment's REENGAGE_TEMPLATE and REENGAGE_TEMPLATE_LANGUAGE).
 */
export type NumberEntry = Partial<FixedTexts & CommandWords> & { reengageTemplateName?: string; reengageTemplateLanguage?: string };

/**
 * A JSON object keyed by phone-number id; unset or empty means `{}`. Every problem names the
 * variable (the issue's path) and the bad entry (its message), so a typo stops start-up readably.
 */
function byNumber<T>(checkEntry: (value: unknown) => { value: T } | { problem: string }) {
  return z.pipe(
    z.optional(z.string()),
    z.transform((raw: string | undefined, payload): Record<string, T> => {
      const problem = (message: string) => payload.issues.push({ code: 'custom', message, input: raw });
      if (!raw?.trim()) return {};
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch (error) {
        problem(`not valid JSON (${(error as Error).message})`);
        return z.NEVER;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        problem('expected a JSON object {"<phone_number_id>": …}');
        return z.NEVER;
      }
      const entries: [string, T][] = [];
      for (const [number, value] of Object.entries(parsed)) {
        if (!PHONE_NUMBER_ID.test(number)) {
          problem(`entry "${number}": the key must be a phone_number_id (digits only)`);
          continue;
        }
        const checked = checkEntry(value);
        if ('problem' in checked) problem(`entry "${number}": ${checked.problem}`);
        else entries.push([number, checked.value]);
      }
      return Object.fromEntries(entries);
    }),
  );
}

/** `AGENT_ENGINE_BY_NUMBER`: `{"<phone_number_id>": "projects/…/reasoningEngines/…"}`. */
export const agentEngineByNumber = byNumber<string>((value) =>
  typeof value === 'string' && AGENT_ENGINE_NAME.test(value)
    ? { value }
    : { problem: `${AGENT_ENGINE_SHAPE}, got ${JSON.stringify(value)}` },
);

/**
 * `TEXTS_BY_NUMBER`: `{"<phone_number_id>": {"APOLOGY_TEXT": "…", "OPT_OUT_COMMANDS": "sair,parar", …}}`,
 * the same names as the deployment-wide variables; a number leaves out what it does not change.
 * `WELCOME_TEXT: ""` switches the welcome off for that number, `REENGAGE_TEMPLATE: ""` its
 * re-engagement template, `RESET_COMMANDS: ""` its reset words; every other text and word list
 * must say something.
 */
export const textsByNumber = byNumber<NumberEntry>((value) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problem: `expected an object like {"APOLOGY_TEXT": "…"}, got ${JSON.stringify(value)}` };
  }
  const entry: NumberEntry = {};
  for (const [name, text] of Object.entries(value)) {
    if (!NUMBER_SETTING_VARIABLES.includes(name)) {
      return { problem: `unknown setting ${JSON.stringify(name)} (expected one of ${NUMBER_SETTING_VARIABLES.join(', ')})` };
    }
    if (typeof text !== 'string') return { problem: `${name} must be a string, got ${JSON.stringify(text)}` };
    if (name === 'REENGAGE_TEMPLATE') entry.reengageTemplateName = text.trim();
    else if (name === 'REENGAGE_TEMPLATE_LANGUAGE') {
      if (!TEMPLATE_LANGUAGE.test(text)) return { problem: `REENGAGE_TEMPLATE_LANGUAGE: expected a language code like es or en_US, got ${JSON.stringify(text)}` };
      entry.reengageTemplateLanguage = text;
    } else if (Object.hasOwn(WORDS_SETTING_OF, name)) {
      const words = commandWords(text);
      // A number may switch its reset words off, as RESET_COMMANDS="" does for the deployment; never its opt-out or opt-in.
      if (words.length === 0 && name !== 'RESET_COMMANDS') return { problem: `${name} must name at least one comma-separated word` };
      entry[WORDS_SETTING_OF[name as keyof typeof WORDS_SETTING_OF]] = words;
    } else {
      if (name !== 'WELCOME_TEXT' && !text.trim()) return { problem: `${name} must not be empty` };
      entry[TEXT_SETTING_OF[name as keyof typeof TEXT_SETTING_OF]] = text;
    }
  }
  return { value: entry };
});
