import type { TemplateRef } from '../whatsapp/graphClient.js';

/** The fixed replies a business number answers with (each number may override the deployment's). */
export interface FixedTexts {
  apologyText: string;
  unsupportedText: string;
  mediaUnsupportedText: string;
  /** The reply to an attachment over its type's size limit. */
  mediaTooLargeText: string;
  slowDownText: string;
  resetConfirmText: string;
  /** Empty or unset: no welcome. */
  welcomeText?: string;
  optOutConfirmText: string;
  optInConfirmText: string;
}

/** The words that, as a whole message, are commands (lower case, NFC). */
export interface CommandWords {
  resetCommands: readonly string[];
  optOutCommands: readonly string[];
  optInCommands: readonly string[];
}

/** What a business number may say and understand differently from the deployment (TEXTS_BY_NUMBER). */
export interface NumberSettings extends FixedTexts, CommandWords {
  /** Absent: no template invites the user back on this number. */
  reengageTemplate?: TemplateRef | undefined;
}

/** The settings as one business number has them: the deployment's, with what that number changes. */
export function settingsFor<S extends object>(deps: { settings: S; numbers: Pick<NumberRoutes<unknown>, 'settingsOf'> }, phoneNumberId: string): S {
  return { ...deps.settings, ...deps.numbers.settingsOf(phoneNumberId) };
}

/** Where one business number's messages go. */
export type NumberRoute<Agent> =
  | { kind: 'agent'; phoneNumberId: string; engine: string; agent: Agent }
  /** Neither AGENT_ENGINE_BY_NUMBER nor AGENT_ENGINE names an agent: the message fails (acknowledged, never retried). */
  | { kind: 'no-agent'; phoneNumberId: string; reason: string };

export interface NumberRoutesOptions<Agent> {
  /** AGENT_ENGINE: serves every number not in `enginesByNumber`. */
  defaultEngine?: string | undefined;
  /** AGENT_ENGINE_BY_NUMBER. */
  enginesByNumber: Readonly<Record<string, string>>;
  /** TEXTS_BY_NUMBER: what each number changes. */
  settingsByNumber: Readonly<Record<string, Partial<NumberSettings>>>;
  /** The client of one engine (the caller keeps one per engine and one connection per region). */
  agentFor(engine: string): Agent;
}

export interface NumberRoutes<Agent> {
  route(phoneNumberId: string): NumberRoute<Agent>;
  /** What the number changes of the deployment's settings (whether or not it has an agent). */
  settingsOf(phoneNumberId: string): Partial<NumberSettings>;
  /** Every engine a message can reach: the map's and the default. */
  readonly engines: readonly string[];
}

/** The engine that answers a business number: its own in AGENT_ENGINE_BY_NUMBER, else AGENT_ENGINE, else none. */
export function agentEngineFor(
  phoneNumberId: string,
  options: { defaultEngine?: string | undefined; enginesByNumber: Readonly<Record<string, string>> },
): string | undefined {
  return Object.hasOwn(options.enginesByNumber, phoneNumberId) ? options.enginesByNumber[phoneNumberId] : options.defaultEngine;
}

/** The routing table: business phone-number id → its agent and its own settings. Pure: agents are made by the caller. */
export function createNumberRoutes<Agent>(options: NumberRoutesOptions<Agent>): NumberRoutes<Agent> {
  const engines = [...new Set([...Object.values(options.enginesByNumber), ...(options.defaultEngine ? [options.defaultEngine] : [])])];
  const settingsOf = (phoneNumberId: string) =>
    Object.hasOwn(options.settingsByNumber, phoneNumberId) ? (options.settingsByNumber[phoneNumberId] ?? {}) : {};
  return {
    engines,
    settingsOf,
    route(phoneNumberId) {
      const engine = agentEngineFor(phoneNumberId, options);
      if (!engine) {
        return {
          kind: 'no-agent',
          phoneNumberId,
          reason: `no agent for business number ${phoneNumberId}: it is not in AGENT_ENGINE_BY_NUMBER and AGENT_ENGINE is not set`,
        };
      }
      return { kind: 'agent', phoneNumberId, engine, agent: options.agentFor(engine) };
    },
  };
}
