import type { AgentClient, AgentTurn } from '../agent/agentClient.js';
import { SessionNotFoundError } from '../agent/agentClient.js';
import { failedSystemOf, isPermanent, reasonOf, RetryableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { maskUserId } from '../log/maskUserId.js';
import type { DeadLetterPublisher } from '../queue/deadLetterPublisher.js';
import { receiptFrom } from '../queue/messageReceipt.js';
import type { PushDelivery } from '../queue/pushEnvelope.js';
import type { InboundLedger, InboundRecord } from '../store/inboundLedger.js';
import type { RateLimiter } from '../store/rateLimiter.js';
import type { SessionRecord, SessionStore } from '../store/sessionStore.js';
import { formatReply } from '../whatsapp/formatting/formatReply.js';
import type { WhatsAppClient } from '../whatsapp/graphClient.js';
import { OUTSIDE_CUSTOMER_SERVICE_WINDOW } from '../whatsapp/graphErrors.js';
import type { HeldReplies } from '../store/heldReplyStore.js';
import { consentCommandOf, decideConsent } from './consentCommands.js';
import { isWindowOpen } from './customerServiceWindow.js';
import { deliverHeldReplies, holdReplies, type ReengagementDeps } from './reengagement.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import type { ConversationWindowStore } from '../store/conversationWindowStore.js';
import type { HeldReplyStore } from '../store/heldReplyStore.js';
import type { OptOutStore } from '../store/optOutStore.js';
import type { OutboundMessageStore } from '../store/outboundMessageStore.js';
import type { ConsentSettings } from './consentCommands.js';
import type { ActionSettings } from './decideAction.js';
import { decideTurnAction, type AgentPart } from './decideTurnAction.js';
import type { ReengagementSettings } from './reengagement.js';

export interface WorkerSettings extends ActionSettings, ConsentSettings, ReengagementSettings {
  optOutConfirmText: string;
  optInConfirmText: string;
  maxDeliveryAttempts: number;
  leaseMs: number;
  retentionMs: number;
  sessionTtlMs: number;
  rateLimitPerMinute: number;
  maxReplyChars: number;
  maxMediaBytes: number;
  apologyText: string;
  slowDownText: string;
  resetConfirmText: string;
  welcomeText?: string;
  /** The typing indicator lasts about 25 s; refresh it while the agent works. */
  typingRefreshMs: number;
  /** Longest Retry-After worth waiting for inside one attempt; longer ones go back to Pub/Sub. */
  maxInlineRetryWaitMs: number;
  /** Bursts: quiet time after a user's latest message before the turn runs; 0 = one turn per message. */
  burstWindowMs: number;
  burstMaxWaitMs: number;
}

export interface WorkerDeps {
  ledger: InboundLedger;
  sessions: SessionStore;
  rateLimiter: RateLimiter;
  agent: AgentClient;
  whatsapp: WhatsAppClient;
  outbound: OutboundMessageStore;
  optOuts: OptOutStore;
  held: HeldReplyStore;
  windows: ConversationWindowStore;
  log: Logger;
  settings: WorkerSettings;
  /** Set where Pub/Sub does not report delivery attempts: the worker then dead-letters itself. */
  deadLetters?: DeadLetterPublisher;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
}

/** `ack` → 2xx (Pub/Sub forgets the message); otherwise non-2xx (Pub/Sub retries or dead-letters). */
export interface DeliveryOutcome {
  ack: boolean;
  outcome: 'answered' | 'held' | 'ignored' | 'duplicate' | 'failed' | 'busy' | 'retry' | 'dead-letter' | 'buffered';
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const QUOTE_MAX_CHARS = 500;

/**
 * Processes one push delivery exactly once in effect: claim the idempotency record, act,
 * record progress before and after every side effect, and decide ack or retry.
 */
export async function processDelivery(delivery: PushDelivery, deps: WorkerDeps): Promise<DeliveryOutcome> {
  const { message } = delivery;
  const now = deps.now ?? (() => new Date());
  const log = deps.log.child({ wamid: message.wamid, user: maskUserId(message.userId) });
  const { settings, ledger } = deps;

  const claim = await ledger.claim({
    wamid: message.wamid,
    userId: message.userId,
    now: now(),
    leaseMs: settings.leaseMs,
    retentionMs: settings.retentionMs,
    ...(delivery.attributes.replayId ? { replayId: delivery.attributes.replayId } : {}),
  });
  if (claim.outcome === 'settled') {
    log.info({ state: claim.record.state }, 'duplicate delivery of a settled message: acknowledged');
    return { ack: true, outcome: 'duplicate' };
  }
  if (claim.outcome === 'exhausted') {
    log.warn('message failed on its final attempt: refusing so it dead-letters');
    return deadLetter(delivery, claim.record.failureReason ?? 'exhausted', deps);
  }
  if (claim.outcome === 'busy') {
    log.info({ leaseUntil: claim.record.leaseUntil }, 'another delivery holds the lease: try later');
    return { ack: false, outcome: 'busy' };
  }

  // A replay carries the original receipt time: its user waited through the apology and an
  // operator's fix, which says nothing about how fast the bot answers.
  const receivedAt = delivery.attributes.replayId ? undefined : receiptFrom(delivery.attributes).receivedAt;
  return runTurn({ id: message.wamid, messages: [message], receivedAt }, claim.record, delivery.deliveryAttempt, deps, log, (reason) =>
    deadLetter(delivery, reason, deps),
  );
}

/** A turn: one message, or a burst of one user's messages answered together. */
export interface TurnInput {
  /** The ledger record that owns the turn: its first message's wamid. */
  id: string;
  messages: InboundMessage[];
  /** When the webhook received the turn's first message, when known: the reply latency runs from it. */
  receivedAt?: Date;
}

/**
 * Runs a claimed turn to an outcome: answered, failed for good (acknowledged), failed for now
 * (retry), or failed on the last attempt (apology, then `deadLetterIt`).
 */
export async function runTurn(
  input: TurnInput,
  record: InboundRecord,
  deliveryAttempt: number | undefined,
  deps: WorkerDeps,
  log: Logger,
  deadLetterIt: (reason: string) => Promise<DeliveryOutcome>,
): Promise<DeliveryOutcome> {
  const now = deps.now ?? (() => new Date());
  const { settings, ledger } = deps;
  const attempt = deliveryAttempt ?? record.attempts;
  const isLastAttempt = attempt >= settings.maxDeliveryAttempts;
  const turn = new Turn(input, record, deps, log, now, { receivedAt: input.receivedAt, attempt });

  try {
    const outcome = await turn.run();
    return { ack: true, outcome };
  } catch (error) {
    const reason = reasonOf(error);
    const fields = { reason, attempt, err: error, ...(error as { fields?: object }).fields };
    if (isPermanent(error)) {
      const apologySent = await turn.apologiseFor(error);
      await ledger.markFailed(input.id, reason, { exhausted: false, apologySent });
      log.error(fields, 'message failed permanently: acknowledged, will not retry');
      return { ack: true, outcome: 'failed' };
    }
    if (!isLastAttempt) {
      await ledger.releaseLease(input.id, reason);
      log.warn(fields, 'attempt failed: Pub/Sub will retry');
      return { ack: false, outcome: 'retry' };
    }
    const apologySent = await turn.apologiseFor(error);
    await ledger.markFailed(input.id, reason, { exhausted: true, apologySent });
    log.error(fields, 'final attempt failed: message goes to the dead-letter topic');
    return deadLetterIt(reason);
  }
}

/** Refuses the message so Pub/Sub dead-letters it, or moves it there itself when Pub/Sub cannot. */
async function deadLetter(delivery: PushDelivery, reason: string, deps: WorkerDeps): Promise<DeliveryOutcome> {
  if (delivery.deliveryAttempt !== undefined || !deps.deadLetters) return { ack: false, outcome: 'dead-letter' };
  await deps.deadLetters.publish(delivery, reason);
  deps.log.child({ wamid: delivery.message.wamid, user: maskUserId(delivery.message.userId) }).info({ reason }, 'moved to the dead-letter topic');
  return { ack: true, outcome: 'dead-letter' };
}

/** One attempt at one turn. */
class Turn {
  private readonly sleep: (ms: number) => Promise<void>;
  private agentAnswered = false;
  /** Once known, an opted-out user gets nothing from this turn: no receipt, no typing, no apology. */
  private optedOut = false;
  /** Consent, replies, read receipts and the session follow the turn's latest message. */
  private readonly message: InboundMessage;

  constructor(
    private readonly input: TurnInput,
    private readonly record: InboundRecord,
    private readonly deps: WorkerDeps,
    private readonly log: Logger,
    private readonly now: () => Date,
    /** When the webhook received the message (unknown for a replay), and this attempt's number. */
    private readonly receipt: { receivedAt: Date | undefined; attempt: number },
  ) {
    this.sleep = deps.sleep ?? wait;
    const latest = input.messages[input.messages.length - 1];
    if (!latest) throw new Error('a turn has at least one message');
    this.message = latest;
  }

  async run(): Promise<DeliveryOutcome['outcome']> {
    const { ledger, settings } = this.deps;
    const wamid = this.input.id;
    const [optOut, hold] = await Promise.all([
      this.deps.optOuts.get(this.message.phoneNumberId, this.message.userId),
      this.deps.held.get(this.message.phoneNumberId, this.message.userId, this.now()),
      this.noteWindow(),
    ]);
    this.optedOut = optOut !== undefined;
    const consent = decideConsent(this.message, this.optedOut, settings);
    // A retry of the STOP that was recorded on an earlier attempt still owes its confirmation.
    const owesOptOutConfirmation = this.record.replyText !== undefined && consentCommandOf(this.message, settings) === 'opt-out';
    if (consent === 'silent' && !owesOptOutConfirmation) {
      await ledger.markAnswered(wamid);
      this.log.info('the user has opted out: nothing sent');
      return 'ignored';
    }
    if (this.record.replyText === undefined) {
      if (consent === 'opt-out' || consent === 'opt-in') {
        this.record.replyText = await this.recordConsent(consent);
        await ledger.saveReply(wamid, this.record.replyText);
        this.optedOut = consent === 'opt-out';
      } else {
        if (hold) await this.deliverHeld(hold);
        const action = decideTurnAction(this.input.messages, settings);
        if (action.kind === 'ignore') {
          await ledger.markAnswered(wamid);
          this.log.info({ reason: action.reason }, 'nothing to answer');
          return 'ignored';
        }
        this.markRead();
        const replyText =
          action.kind === 'reply'
            ? ((await this.rateLimited()) ?? action.text)
            : action.kind === 'reset-session'
              ? await this.resetSession()
              : await this.askAgent(action.parts);
        // The session's activity is bookkeeping: it must not make a retry ask the agent again.
        await Promise.all([ledger.saveReply(wamid, replyText, this.record.agentMs), this.agentAnswered && this.touchSession()]);
        this.record.replyText = replyText;
      }
    } else {
      this.log.info({ sentChunks: this.record.sentChunks.length }, 'resuming with the stored reply');
      if (hold && consent === 'proceed') await this.deliverHeld(hold);
    }
    return this.sendReply(this.record.replyText);
  }

  /** Records the user's STOP or START and returns its one confirmation; no agent turn. */
  private async recordConsent(consent: 'opt-out' | 'opt-in'): Promise<string> {
    const { optOuts, held, settings } = this.deps;
    const { phoneNumberId, userId, phone } = this.message;
    if (consent === 'opt-in') {
      await optOuts.optIn(phoneNumberId, userId);
      this.log.info('the user opted back in');
      return settings.optInConfirmText;
    }
    const command = this.message.content.kind === 'text' || this.message.content.kind === 'button' ? this.message.content.text.trim() : '';
    await Promise.all([
      optOuts.optOut({ phoneNumberId, userId, ...(phone ? { phone } : {}), command, optedOutAt: this.now() }),
      held.discard(phoneNumberId, userId),
    ]);
    this.log.info('the user opted out: nothing more will be sent until they opt back in');
    return settings.optOutConfirmText;
  }

  /** The user's message opens (or keeps open) the 24-hour window for this business number. */
  private async noteWindow(): Promise<void> {
    const wroteAt = new Date(this.message.timestamp * 1000);
    // A replayed old message opens nothing: leave the record of the latest one alone.
    if (!isWindowOpen(wroteAt, this.now())) return;
    await this.deps.windows
      .noteUserMessage({
        phoneNumberId: this.message.phoneNumberId,
        userId: this.message.userId,
        ...(this.message.phone ? { phone: this.message.phone } : {}),
        lastUserMessageAt: wroteAt,
      })
      .catch((error: unknown) => this.log.warn({ err: error }, 'conversation window not recorded'));
  }

  private reengagement(): ReengagementDeps {
    return { ...this.deps, log: this.log, now: this.now };
  }

  private async deliverHeld(hold: HeldReplies): Promise<void> {
    // A replayed old message does not reopen the window: the replies keep waiting.
    if (!isWindowOpen(new Date(this.message.timestamp * 1000), this.now())) return;
    await deliverHeldReplies(this.user(), this.reengagement(), hold, (text) =>
      this.withInlineRetry(() =>
        this.deps.whatsapp.sendText({ phoneNumberId: this.message.phoneNumberId, to: this.recipient(), text }),
      ),
    );
  }

  private user() {
    const { phoneNumberId, userId, phone } = this.message;
    return { phoneNumberId, userId, ...(phone ? { phone } : {}) };
  }

  /** Tells the user once that the message will not be answered; never throws. */
  async apologiseFor(error: unknown): Promise<boolean> {
    if (this.record.apologySent) return true;
    if (this.optedOut) return false;
    // When WhatsApp is what failed (or no longer allows sending), an apology would fail the same way.
    if (failedSystemOf(error) === 'whatsapp') return false;
    try {
      await this.deps.whatsapp.sendText({
        phoneNumberId: this.message.phoneNumberId,
        to: this.recipient(),
        text: this.deps.settings.apologyText,
      });
      if (this.record.sentChunks.length === 0) this.logFirstReply('apology');
      return true;
    } catch (apologyError) {
      this.log.error({ err: apologyError }, 'could not send the apology');
      return false;
    }
  }

  private recipient() {
    return { userId: this.message.userId, ...(this.message.phone ? { phone: this.message.phone } : {}) };
  }

  private markRead(): void {
    this.deps.whatsapp.markReadWithTyping(this.message.phoneNumberId, this.message.wamid).catch((error: unknown) => {
      this.log.warn({ err: error, reason: reasonOf(error) }, 'read receipt / typing indicator failed');
    });
  }

  private async touchSession(): Promise<void> {
    await this.deps.sessions.touch(this.message.userId, this.now(), this.sessionExpiry()).catch((error: unknown) => {
      this.log.warn({ err: error }, 'session activity not recorded');
    });
  }

  private async askAgent(parts: AgentPart[]): Promise<string> {
    const { settings, agent, sessions } = this.deps;
    const [limitedReply, existing] = await Promise.all([this.rateLimited(), sessions.get(this.message.userId)]);
    if (limitedReply !== undefined) return limitedReply;
    const text = (await Promise.all(parts.map((part) => this.withQuotedContext(part.text, part.quotes)))).join('\n');
    const media = parts.flatMap((part) => (part.media ? [part.media] : []));
    const inlineData =
      media.length > 0
        ? await Promise.all(media.map((ref) => this.deps.whatsapp.downloadMedia(ref.mediaId, settings.maxMediaBytes)))
        : undefined;
    const typing = setInterval(() => this.markRead(), settings.typingRefreshMs);
    try {
      const isFirstContact = existing === undefined;
      let sessionId = await this.sessionId(existing);
      const turn = (): AgentTurn => ({
        userId: this.message.userId,
        sessionId,
        text,
        ...(inlineData ? { inlineData } : {}),
      });
      const started = Date.now();
      let reply: string;
      try {
        reply = await agent.query(turn());
      } catch (error) {
        if (!(error instanceof SessionNotFoundError)) throw error;
        this.log.info('agent session is gone: starting a new one');
        sessionId = await this.newSession();
        reply = await agent.query(turn());
      }
      const agentMs = Date.now() - started;
      this.log.info({ agentMs, replyChars: reply.length }, 'agent answered');
      this.agentAnswered = true;
      this.record.agentMs = agentMs;
      return isFirstContact && settings.welcomeText ? `${settings.welcomeText}\n\n${reply}` : reply;
    } finally {
      clearInterval(typing);
    }
  }

  /**
   * Counts the turn against the user's per-minute limit (once, however many messages it answers or
   * how often it is retried). Over the limit: the slow-down text the first time, then '' (nothing sent);
   * within it: undefined. Fixed replies count too, or a flood of stickers would get a reply each.
   */
  private async rateLimited(): Promise<string | undefined> {
    const { settings, rateLimiter } = this.deps;
    const hits = await rateLimiter.hit(this.message.userId, this.input.id, this.now());
    if (hits <= settings.rateLimitPerMinute) return undefined;
    this.log.warn({ hits, limit: settings.rateLimitPerMinute }, 'user over the rate limit: no agent call, no fixed reply');
    return hits === settings.rateLimitPerMinute + 1 ? settings.slowDownText : '';
  }

  /** A reply to one of the bot's messages tells the agent which message it answers. */
  private async withQuotedContext(text: string, quotes: string | undefined): Promise<string> {
    if (!quotes) return text;
    const quoted = await this.deps.ledger.findBySentMessageId(quotes).catch((error: unknown) => {
      this.log.warn({ err: error }, 'could not look up the quoted message');
      return undefined;
    });
    if (!quoted?.replyText) return text;
    // A context id is the sender's to choose: only the bot's replies to this very user may be quoted.
    const quotedBusinessNumber = quoted.turnMessages?.[0]?.phoneNumberId;
    if (quoted.userId !== this.message.userId || (quotedBusinessNumber !== undefined && quotedBusinessNumber !== this.message.phoneNumberId)) {
      this.log.warn('the quoted message was not sent to this user: not quoted');
      return text;
    }
    const excerpt =
      quoted.replyText.length > QUOTE_MAX_CHARS ? `${quoted.replyText.slice(0, QUOTE_MAX_CHARS)}…` : quoted.replyText;
    return `[Replying to your earlier message: "${excerpt}"]\n${text}`;
  }

  private async resetSession(): Promise<string> {
    const previous = await this.deps.sessions.get(this.message.userId);
    await this.newSession();
    if (previous) {
      // Best effort: Agent Engine expires sessions on its own anyway.
      this.deps.agent.deleteSession(this.message.userId, previous.agentSessionId).catch((error: unknown) => {
        this.log.warn({ err: error }, 'old agent session not deleted');
      });
    }
    this.log.info('conversation reset by the user');
    return this.deps.settings.resetConfirmText;
  }

  private async sessionId(existing: SessionRecord | undefined): Promise<string> {
    if (existing && existing.expiresAt > this.now()) return existing.agentSessionId;
    if (existing) this.log.info('agent session expired: starting a new one');
    return this.newSession();
  }

  private async newSession(): Promise<string> {
    const agentSessionId = await this.deps.agent.createSession(this.message.userId);
    const at = this.now();
    await this.deps.sessions.put({
      userId: this.message.userId,
      ...(this.message.phone ? { phone: this.message.phone } : {}),
      ...(this.message.profileName ? { profileName: this.message.profileName } : {}),
      agentSessionId,
      createdAt: at,
      lastMessageAt: at,
      expiresAt: this.sessionExpiry(),
      messageCount: 0,
    });
    return agentSessionId;
  }

  private sessionExpiry(): Date {
    return new Date(this.now().getTime() + this.deps.settings.sessionTtlMs);
  }

  /**
   * The line the reply-latency metric reads, once per message: the first thing the user gets was
   * accepted by WhatsApp. `replyLatencyMs` runs from the webhook's receipt (unknown for a dead-letter
   * replay); `agentMs` is the agent's part of it, kept in the record so a retry after a failed send
   * still knows it.
   */
  private logFirstReply(outcome: 'answered' | 'fixed_reply' | 'apology'): void {
    const { receivedAt, attempt } = this.receipt;
    const replyLatencyMs = receivedAt ? this.now().getTime() - receivedAt.getTime() : undefined;
    this.log.info({ outcome, replyLatencyMs, agentMs: this.record.agentMs, attempt }, 'first reply chunk accepted');
  }

  private async sendReply(replyText: string): Promise<'answered' | 'held'> {
    const { whatsapp, ledger, settings, outbound } = this.deps;
    const chunks = replyText ? formatReply(replyText, settings.maxReplyChars) : [];
    const alreadySent = new Set(this.record.sentChunks.map((chunk) => chunk.index));
    if (chunks.length === 0) {
      await ledger.markAnswered(this.input.id);
      return 'answered';
    }
    const userWroteAt = new Date(this.message.timestamp * 1000);
    for (const [index, text] of chunks.entries()) {
      if (alreadySent.has(index)) continue;
      if (!isWindowOpen(userWroteAt, this.now())) return this.holdFrom(chunks, index, 'our clock says the window closed');
      let graphMessageId: string;
      try {
        graphMessageId = await this.withInlineRetry(() =>
          whatsapp.sendText({ phoneNumberId: this.message.phoneNumberId, to: this.recipient(), text }),
        );
      } catch (error) {
        if (reasonOf(error) === OUTSIDE_CUSTOMER_SERVICE_WINDOW) return this.holdFrom(chunks, index, 'Meta answered 131047');
        throw error;
      }
      if (index === 0) this.logFirstReply(this.record.agentMs === undefined ? 'fixed_reply' : 'answered');
      await Promise.all([
        ledger.recordChunkSent(this.input.id, { index, graphMessageId }, index === chunks.length - 1),
        outbound.recordSent(
          { wamid: graphMessageId, ...this.user(), kind: 'reply', inReplyTo: this.input.id, chunkIndex: index, text },
          this.now(),
        ),
      ]);
      this.record.sentChunks.push({ index, graphMessageId });
    }
    this.log.info({ chunks: chunks.length }, 'reply sent');
    return 'answered';
  }

  /** The rest of the reply cannot go out as free text: hold it for the user's return, and settle the message. */
  private async holdFrom(chunks: string[], from: number, why: string): Promise<'held'> {
    const heldAt = this.now();
    const replies = chunks.slice(from).map((text, offset) => ({ id: `${this.input.id}#${from + offset}`, text, heldAt }));
    this.log.info({ why, chunks: replies.length }, 'the 24-hour window has closed: holding the reply');
    await holdReplies(this.user(), replies, this.reengagement());
    await this.deps.ledger.markAnswered(this.input.id);
    return 'held';
  }

  /** Honours a short Retry-After once within the attempt; longer waits are left to Pub/Sub's backoff. */
  private async withInlineRetry<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      const waitMs = error instanceof RetryableError ? error.retryAfterMs : undefined;
      if (waitMs === undefined || waitMs > this.deps.settings.maxInlineRetryWaitMs) throw error;
      this.log.warn({ waitMs, reason: error instanceof RetryableError ? error.reason : undefined }, 'Graph asked to wait: retrying once');
      await this.sleep(waitMs);
      return send();
    }
  }
}
