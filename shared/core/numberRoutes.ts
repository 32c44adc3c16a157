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

/** Where one business number's messages go; `texts` holds what the number says differently from the deployment's texts. */
export type NumberRoute<Agent> =
  | { kind: 'agent'; phoneNumberId: string; engine: string; agent: Agent; texts: Partial<FixedTexts> }
  /** Neither AGENT_ENGINE_BY_NUMBER nor AGENT_ENGINE names an agent: the message fails (acknowledged, never retried). */
  | { kind: 'no-agent'; phoneNumberId: string; reason: string };

export interface NumberRoutesOptions<Agent> {
  /** AGENT_ENGINE: serves every number not in `enginesByNumber`. */
  defaultEngine?: string | undefined;
  /** AGENT_ENGINE_BY_NUMBER. */
  enginesByNumber: Readonly<Record<string, string>>;
  /** TEXTS_BY_NUMBER: what each number changes. */
  textsByNumber: Readonly<Record<string, Partial<FixedTexts>>>;
  /** The client of one engine (the caller keeps one per engine and one connection per region). */
  agentFor(engine: string): Agent;
}

export interface NumberRoutes<Agent> {
  route(phoneNumberId: string): NumberRoute<Agent>;
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

/** The routing table: business phone-number id → its agent and its fixed texts. Pure: agents are made by the caller. */
export function createNumberRoutes<Agent>(options: NumberRoutesOptions<Agent>): NumberRoutes<Agent> {
  const engines = [...new Set([...Object.values(options.enginesByNumber), ...(options.defaultEngine ? [options.defaultEngine] : [])])];
  return {
    engines,
    route(phoneNumberId) {
      const engine = agentEngineFor(phoneNumberId, options);
      if (!engine) {
        return {
          kind: 'no-agent',
          phoneNumberId,
          reason: `no agent for business number ${phoneNumberId}: it is not in AGENT_ENGINE_BY_NUMBER and AGENT_ENGINE is not set`,
        };
      }
      const texts = Object.hasOwn(options.textsByNumber, phoneNumberId) ? (options.textsByNumber[phoneNumberId] ?? {}) : {};
      return { kind: 'agent', phoneNumberId, engine, agent: options.agentFor(engine), texts };
    },
  };
}
