import * as z from '../zodMini.js';
import { MAX_HANDOFF_MINUTES } from '../core/handoff.js';
import { describeTimeBudget, workerTimeBudget } from './workerTimeBudget.js';
import { AGENT_ENGINE_NAME, AGENT_ENGINE_SHAPE, agentEngineByNumber, commandWords, TEMPLATE_LANGUAGE, textsByNumber } from './numberSettings.js';

const booleanFlag = z.pipe(
  z._default(z.enum(['true', 'false', '1', '0', '']), 'false'),
  z.transform((value) => value === 'true' || value === '1'),
);

const positiveInt = (fallback: number) => z._default(z.coerce.number().check(z.int(), z.positive()), fallback);

const intBetween = (min: number, max: number, fallback: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max)), fallback);

const nonEmptyString = () => z.string().check(z.refine((value) => value.trim().length > 0, 'must not be blank'));

/** A text setting that must say something, with the wording used when it is unset. */
const text = (fallback: string) => z._default(nonEmptyString(), fallback);

/** An optional setting: an empty or blank string counts as unset (deploy tools often cannot unset a variable). */
const optionalString = z.pipe(
  z.optional(z.string()),
  z.transform((value: string | undefined) => (value?.trim() ? value : undefined)),
);

/** An agent's full resource name, checked at start rather than on the first call that needs it. */
const agentEngine = z.pipe(optionalString, z.optional(z.string().check(z.regex(AGENT_ENGINE_NAME, AGENT_ENGINE_SHAPE))));

/** `host` or `host:port`, as gRPC takes it (not a URL). */
const apiEndpoint = z.pipe(optionalString, z.optional(z.string().check(z.regex(/^(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, 'expected host or host:port, not a URL'))));

/** Comma-separated command words; empty switches the command off (RESET_COMMANDS=""). */
const commandList = (fallback: string) => z.pipe(z._default(z.string(), fallback), z.transform(commandWords));
/** Command words that can never be switched off (opt-out and opt-in). */
const wordList = (fallback: string) =>
  commandList(fallback).check(z.refine((words) => words.length > 0, 'expected at least one comma-separated word'));

/** What the webhook's admin routes need to send proactive messages; without a token they answer 501. */
const graph = {
  GRAPH_API_BASE_URL: z._default(z.url(), 'https://graph.facebook.com'),
  GRAPH_API_VERSION: z._default(z.string().check(z.regex(/^v\d+\.\d+$/, 'expected a version like v25.0')), 'v25.0'),
  GRAPH_TIMEOUT_MS: positiveInt(15_000),
  /** How long the record of a sent message and its delivery status is kept (Meta retries undeliverable messages for 30 days). */
  OUTBOUND_RECORD_TTL_DAYS: positiveInt(30),
};

const shared = {
  /**
   * A paused conversation (a person took over) resumes by itself after this long without staff
   * activity. The worker applies it to the agent's and the Business app's pauses, the admin
   * routes to an operator's and to staff messages.
   */
  HANDOFF_TIMEOUT_MINUTES: intBetween(1, MAX_HANDOFF_MINUTES, 60),
  GOOGLE_CLOUD_PROJECT: nonEmptyString(),
  PUBSUB_EMULATOR_HOST: z.optional(z.string()),
  FIRESTORE_EMULATOR_HOST: z.optional(z.string()),
  LOG_LEVEL: z._default(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
};

export const webhookConfigSchema = z
  .object({
    ...shared,
    WHATSAPP_VERIFY_TOKEN: nonEmptyString(),
    WHATSAPP_APP_SECRET: optionalString,
    ALLOW_UNSIGNED_WEBHOOKS: booleanFlag,
    PUBSUB_TOPIC: z._default(nonEmptyString(), 'whatsapp-inbound'),
    ADMIN_API_TOKEN: optionalString,
    PUBLISH_TIMEOUT_MS: positiveInt(10_000),
    /** The admin routes delete a user's Agent Engine session when these are set. */
    AGENT_ENGINE: agentEngine,
    AGENT_ENGINE_BY_NUMBER: agentEngineByNumber,
    VERTEX_API_ENDPOINT: apiEndpoint,
    /** Lets the admin routes send proactive messages (`POST /whatsapp/messages`). */
    WHATSAPP_ACCESS_TOKEN: optionalString,
    ...graph,
  })
  .check(
    z.superRefine(
      (env, ctx) => {
        if (env.WHATSAPP_APP_SECRET) return;
        if (env.ALLOW_UNSIGNED_WEBHOOKS !== true) {
          ctx.addIssue({
            code: 'custom',
            path: ['WHATSAPP_APP_SECRET'],
            message: 'required (set ALLOW_UNSIGNED_WEBHOOKS=true only for local emulation)',
          });
        } else if (!env.PUBSUB_EMULATOR_HOST) {
          ctx.addIssue({
            code: 'custom',
            path: ['ALLOW_UNSIGNED_WEBHOOKS'],
            message: 'unsigned webhooks are allowed only with the Pub/Sub emulator (PUBSUB_EMULATOR_HOST)',
          });
        }
      },
      // Zod skips refinements once another variable failed; run it anyway so one error names every problem.
      { when: () => true },
    ),
  );

export const workerConfigSchema = z
  .object({
    ...shared,
    WHATSAPP_ACCESS_TOKEN: nonEmptyString(),
    ...graph,
    /** The agent of every number not in AGENT_ENGINE_BY_NUMBER; required unless the map names the agents. */
    AGENT_ENGINE: agentEngine,
    /** The agent of each business number; AGENT_ENGINE serves the numbers not in it. */
    AGENT_ENGINE_BY_NUMBER: agentEngineByNumber,
    /** Per business number, the fixed replies it answers with instead of the variables of the same names. */
    TEXTS_BY_NUMBER: textsByNumber,
    VERTEX_API_ENDPOINT: apiEndpoint,
    AGENT_TIMEOUT_MS: positiveInt(240_000),
    /** The worker function's own timeout as deployed (Terraform sets it): one delivery's time budget must fit in it. */
    WORKER_TIMEOUT_SECONDS: positiveInt(300),
    /** How long one delivery owns a message; longer than the worker's own timeout. */
    PROCESSING_LEASE_SECONDS: positiveInt(330),
    MAX_DELIVERY_ATTEMPTS: intBetween(5, 100, 5),
    INBOUND_RECORD_TTL_DAYS: positiveInt(7),
    SESSION_TTL_HOURS: positiveInt(24),
    USER_RATE_LIMIT_PER_MINUTE: positiveInt(10),
    MAX_REPLY_CHARS: intBetween(100, 4096, 4096),
    /** Longer agent replies are cut (and end in …); 200,000 keeps the stored reply under Firestore's 1 MiB. */
    MAX_AGENT_REPLY_CHARS: intBetween(1000, 200_000, 32_000),
    APOLOGY_TEXT: text("Sorry, I couldn't answer that just now. Please try again in a few minutes."),
    UNSUPPORTED_TEXT: text('Sorry, I can only read text messages for now. Please type your question.'),
    SLOW_DOWN_TEXT: text("You're sending messages faster than I can answer. Please wait a minute and try again."),
    MEDIA_UNSUPPORTED_TEXT: text("Thanks! I can't open photos, voice notes or files yet. Could you tell me in a text message?"),
    MEDIA_TOO_LARGE_TEXT: text("That file is too large for me to open. Could you send a smaller one, or tell me about it in a text message?"),
    AGENT_ACCEPTS_MEDIA: booleanFlag,
    /** Where inbound media is copied for the agent (file_data parts with gs:// URIs). */
    MEDIA_BUCKET: optionalString,
    /** `host:port` or URL of a Cloud Storage stand-in: plain HTTP, no credentials. */
    STORAGE_EMULATOR_HOST: optionalString,
    /** Media as base64 inline_data instead of a bucket: for agents that decode it themselves (README). */
    MEDIA_INLINE: booleanFlag,
    /** Deadline of each Cloud Storage call of a media copy (the lookup, the upload the Graph download streams into). */
    MEDIA_COPY_TIMEOUT_MS: positiveInt(15_000),
    /** Inline mode only: each attachment travels inside the agent request. */
    MAX_MEDIA_BYTES: positiveInt(5 * 1024 * 1024),
    RESET_COMMANDS: commandList('/reset,reiniciar'),
    RESET_CONFIRM_TEXT: text('Done! I have started a new conversation.'),
    /** Sent with the first answer to a user who has no session yet; off when empty. */
    WELCOME_TEXT: optionalString,
    PUSH_AUDIENCE: optionalString,
    PUSH_SERVICE_ACCOUNT: optionalString,
    /** An approved template name; sent once when a reply can no longer go out as free text. Unset: replies are held silently. */
    REENGAGE_TEMPLATE: optionalString,
    REENGAGE_TEMPLATE_LANGUAGE: z._default(z.string().check(z.regex(TEMPLATE_LANGUAGE, 'expected a language code like es or en_US')), 'en_US'),
    /** How long a held reply waits for the user to write again. */
    HELD_REPLY_TTL_HOURS: positiveInt(72),
    OPT_OUT_COMMANDS: wordList('stop,baja,parar,unsubscribe'),
    OPT_IN_COMMANDS: wordList('start,alta,unstop'),
    OPT_OUT_CONFIRM_TEXT: text('You will not receive more messages from us. Send START to receive them again.'),
    OPT_IN_CONFIRM_TEXT: text('Welcome back! You will receive our messages again.'),
    /**
     * Where the worker moves exhausted messages itself when pushes carry no deliveryAttempt
     * (the emulator). In production Pub/Sub's dead-letter policy does it.
     */
    DEAD_LETTER_TOPIC: optionalString,
    /** Quiet time after a user's latest message before the burst becomes one agent turn; 0 = one turn per message. */
    BURST_WINDOW_MS: intBetween(0, 60_000, 2000),
    /** Longest wait from a burst's first message. */
    BURST_MAX_WAIT_MS: intBetween(0, 120_000, 8000),
    /** Where the worker queues "a turn may be due" for a conversation (bursts on). */
    PUBSUB_TURNS_TOPIC: z._default(nonEmptyString(), 'whatsapp-turns'),
    /** Like DEAD_LETTER_TOPIC, for the turns subscription. */
    TURNS_DEAD_LETTER_TOPIC: optionalString,
  })
  .check(
    z.superRefine(
      (env, ctx) => {
        if (env.AGENT_ACCEPTS_MEDIA && !env.MEDIA_BUCKET && !env.MEDIA_INLINE) {
          ctx.addIssue({
            code: 'custom',
            path: ['MEDIA_BUCKET'],
            message: 'required with AGENT_ACCEPTS_MEDIA=true (the bucket media reaches the agent through); MEDIA_INLINE=true sends it inline instead, which a stock ADK agent is likely to read as text',
          });
        }
        if (!env.AGENT_ENGINE && Object.keys(env.AGENT_ENGINE_BY_NUMBER ?? {}).length === 0) {
          ctx.addIssue({ code: 'custom', path: ['AGENT_ENGINE'], message: 'required unless AGENT_ENGINE_BY_NUMBER names the agents' });
        }
        if (env.BURST_WINDOW_MS > 0 && env.BURST_MAX_WAIT_MS < env.BURST_WINDOW_MS) {
          ctx.addIssue({ code: 'custom', path: ['BURST_MAX_WAIT_MS'], message: `must be at least BURST_WINDOW_MS (${env.BURST_WINDOW_MS})` });
        }
        const budget = workerTimeBudget(env);
        if (budget.totalMs >= env.WORKER_TIMEOUT_SECONDS * 1000) {
          ctx.addIssue({
            code: 'custom',
            path: ['WORKER_TIMEOUT_SECONDS'],
            message: `${env.WORKER_TIMEOUT_SECONDS} s is less than one delivery's time budget (${describeTimeBudget(budget)}): lower those timeouts or raise the worker's timeout (Terraform: worker_timeout_seconds)`,
          });
        }
      },
      { when: () => true },
    ),
  );

export type WebhookConfig = z.infer<typeof webhookConfigSchema>;
export type WorkerConfig = z.infer<typeof workerConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates the environment once at start; the error names every missing or bad variable. */
export function loadConfig<S extends z.ZodMiniType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(env)';
    const unset = issue.code === 'invalid_type' && env[name] === undefined;
    return `  ${name}: ${unset ? 'required but not set' : issue.message}`;
  });
  throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
}
