import * as z from '../zodMini.js';
import type { FixedTexts } from '../core/numberRoutes.js';

/** `projects/P/locations/L/reasoningEngines/ID`; the location picks the regional endpoint. */
export const AGENT_ENGINE_NAME = /^projects\/[^/]+\/locations\/[^/]+\/reasoningEngines\/[^/]+$/;
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
export const NUMBER_TEXT_VARIABLES = Object.keys(TEXT_SETTING_OF) as (keyof typeof TEXT_SETTING_OF)[];

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
 * `TEXTS_BY_NUMBER`: `{"<phone_number_id>": {"APOLOGY_TEXT": "…", …}}`, the same names as the
 * deployment-wide variables; a number leaves out what it does not change. `WELCOME_TEXT: ""`
 * switches the welcome off for that number; every other text must say something.
 */
export const textsByNumber = byNumber<Partial<FixedTexts>>((value) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problem: `expected an object like {"APOLOGY_TEXT": "…"}, got ${JSON.stringify(value)}` };
  }
  const texts: Partial<FixedTexts> = {};
  for (const [name, text] of Object.entries(value)) {
    if (!Object.hasOwn(TEXT_SETTING_OF, name)) {
      return { problem: `unknown text ${JSON.stringify(name)} (expected one of ${NUMBER_TEXT_VARIABLES.join(', ')})` };
    }
    if (typeof text !== 'string') return { problem: `${name} must be a string, got ${JSON.stringify(text)}` };
    if (name !== 'WELCOME_TEXT' && !text.trim()) return { problem: `${name} must not be empty` };
    texts[TEXT_SETTING_OF[name as keyof typeof TEXT_SETTING_OF]] = text;
  }
  return { value: texts };
});
