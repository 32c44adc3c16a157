import type { AgentClient } from '../agent/agentClient.js';
import type { MediaForAgent } from '../media/agentMedia.js';
import type { Logger } from '../log/logger.js';
import type { ConversationWindowStore } from '../store/conversationWindowStore.js';
import type { HandoffStore } from '../store/handoffStore.js';
import type { HeldReplyStore } from '../store/heldReplyStore.js';
import type { InboundLedger, InboundRecord } from '../store/inboundLedger.js';
import type { OptOutStore } from '../store/optOutStore.js';
import type { OutboundMessageStore } from '../store/outboundMessageStore.js';
import type { RateLimiter } from '../store/rateLimiter.js';
import type { SessionStore } from '../store/sessionStore.js';
import type { WhatsAppClient } from '../whatsapp/graphClient.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import type { ConsentSettings } from './consentCommands.js';
import type { ActionSettings } from './decideAction.js';
import type { FixedTexts, NumberRoutes } from './numberRoutes.js';
import type { ReengagementSettings } from './reengagement.js';

/** The deployment's settings; a turn sees them with what its business number changes (TEXTS_BY_NUMBER) applied. */
export interface CoreSettings extends ActionSettings, ConsentSettings, ReengagementSettings, FixedTexts {
  leaseMs: number;
  retentionMs: number;
  sessionTtlMs: number;
  rateLimitPerMinute: number;
  maxReplyChars: number;
  /** The typing indicator lasts about 25 s; refresh it while the agent works. */
  typingRefreshMs: number;
  /** Longest Retry-After worth waiting for inside one attempt; longer ones are left to the next attempt. */
  maxInlineRetryWaitMs: number;
  /** Bursts: quiet time after a user's latest message before the turn runs; 0 = one turn per message. */
  burstWindowMs: number;
  burstMaxWaitMs: number;
  /** HANDOFF_TIMEOUT_MINUTES: how long a pause (a person took over) lasts without staff activity. */
  handoffTimeoutMs: number;
}

/** The adapters and settings the core works with, built once per instance by the worker's composition root. */
export interface CoreDeps {
  ledger: InboundLedger;
  sessions: SessionStore;
  rateLimiter: RateLimiter;
  /** Each business number's agent and own settings (AGENT_ENGINE_BY_NUMBER, AGENT_ENGINE, TEXTS_BY_NUMBER). */
  numbers: NumberRoutes<AgentClient>;
  whatsapp: WhatsAppClient;
  /** Turns an attachment into what the agent's input carries (a gs:// object, or inline bytes). */
  media: MediaForAgent;
  outbound: OutboundMessageStore;
  optOuts: OptOutStore;
  held: HeldReplyStore;
  windows: ConversationWindowStore;
  /** Conversations a person has taken over: the bot stays silent for them. */
  handoffs: HandoffStore;
  log: Logger;
  settings: CoreSettings;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

/** A turn: one message, or a burst of one user's messages answered together. */
export interface TurnInput {
  /** The ledger record that owns the turn: its first message's wamid. */
  id: string;
  messages: InboundMessage[];
  /** When the webhook received the turn's first message, when known: the reply latency runs from it. */
  receivedAt?: Date;
}

/** One attempt at one turn, as every step of it sees it. */
export interface TurnContext {
  turn: TurnInput;
  /** The turn's latest message: consent, replies, read receipts and the session follow it. */
  message: InboundMessage;
  /** This attempt's number, for the log. */
  attempt: number;
  /** The claimed idempotency record; the steps keep `replyChunks`, `agentMs` and `sentChunks` current. */
  record: InboundRecord;
  /** The agent of the business number the user wrote to. */
  agent: AgentClient;
  /** The adapters, with the settings as the turn's business number has them (its own texts). */
  deps: CoreDeps;
  /** Carries the turn's wamid, masked user and business number on every line. */
  log: Logger;
  now: () => Date;
  /** Once known, an opted-out user gets nothing from this attempt: no receipt, no typing, no apology. */
  optedOut: boolean;
  /** Once known, a user a person has taken over gets nothing from the bot either: no apology included. */
  paused: boolean;
}
