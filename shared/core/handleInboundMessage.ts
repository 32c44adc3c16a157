import type { AgentClient } from '../agent/agentClient.js';
import { isPermanent, PermanentError, reasonOf } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { maskUserId } from '../log/maskUserId.js';
import type { InboundRecord, InboundState } from '../store/inboundLedger.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import { answerTurn } from './answerTurn.js';
import { consentCommandOf } from './consentCommands.js';
import { readConversationState, readConversationStateAhead, type ConversationState } from './conversationState.js';
import type { CoreDeps, TurnContext, TurnInput } from './coreDeps.js';
import { settingsFor } from './numberRoutes.js';
import { sendApology } from './sendReply.js';
import { noteConversationWindow } from './userReachability.js';

/** What the core needs to know about the attempt it is given; the transport knows how to count. */
export interface AttemptInfo {
  /** Set on a replay from the dead letters: reopens a failed message once per replay id. */
  replayId?: string;
  /** When the webhook received the message (unset for a replay): the reply latency runs from it. */
  receivedAt?: Date;
  /**
   * This attempt's number and whether it is the last one, given the deliveries the message's
   * record has counted (including this one).
   */
  whichAttempt(countedByRecord: number): { number: number; isLast: boolean };
}

/**
 * How one attempt at a message (or turn) ended. `answered`, `held`, `ignored`, `buffered`,
 * `duplicate` and `failed` settle it; `busy` and `retry` ask for it again later; `exhausted`
 * means it failed on its last attempt and belongs with the dead letters.
 */
export type MessageOutcome =
  | { kind: 'answered' }
  /** The window had closed: the reply is held for the user's return (settled). */
  | { kind: 'held' }
  | { kind: 'ignored' }
  /** Bursts on: the message waits in its conversation's buffer; its turn runs later. */
  | { kind: 'buffered' }
  | { kind: 'duplicate'; state: InboundState }
  | { kind: 'busy'; leaseUntil: Date | undefined }
  | { kind: 'failed' | 'retry'; reason: string; error: unknown; attempt: number }
  /** `error` and `attempt` are unset when an earlier attempt already exhausted the message. */
  | { kind: 'exhausted'; reason: string; error?: unknown; attempt?: number };

/** Whether the transport may forget the message. */
export function settles(outcome: MessageOutcome): boolean {
  return outcome.kind !== 'busy' && outcome.kind !== 'retry' && outcome.kind !== 'exhausted';
}

/**
 * Handles one attempt at one inbound message as its own turn, exactly once in effect: claims the
 * idempotency record, then runs the turn.
 */
export async function handleInboundMessage(message: InboundMessage, attempt: AttemptInfo, deps: CoreDeps): Promise<MessageOutcome> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log.child({ wamid: message.wamid, user: maskUserId(message.userId), phoneNumberId: message.phoneNumberId });
  const { settings, ledger } = deps;

  // The conversation is read while the message is claimed: one round trip for both. A duplicate
  // wastes these reads, which is cheaper than every message waiting for them after its claim.
  const conversation = readConversationStateAhead(message, deps, now());
  const claim = await ledger.claim({
    wamid: message.wamid,
    userId: message.userId,
    now: now(),
    leaseMs: settings.leaseMs,
    retentionMs: settings.retentionMs,
    replayId: attempt.replayId,
  });
  if (claim.outcome === 'settled') return { kind: 'duplicate', state: claim.record.state };
  if (claim.outcome === 'exhausted') return { kind: 'exhausted', reason: claim.record.failureReason ?? 'exhausted' };
  if (claim.outcome === 'busy') return { kind: 'busy', leaseUntil: claim.record.leaseUntil };
  // A replay's user waited through the apology and an operator's fix, which says nothing about how fast the bot answers.
  const receivedAt = attempt.replayId ? undefined : attempt.receivedAt;
  return runTurn({ id: message.wamid, messages: [message], receivedAt }, claim.record, attempt, deps, log, conversation);
}

/**
 * Runs a claimed turn to an outcome: answered (records progress before and after every side
 * effect), failed for good, failed for now (retry), or failed on the last attempt (with an
 * apology to the user). The turn goes to the agent of the business number the user wrote to, with
 * that number's settings (TEXTS_BY_NUMBER); a number with no agent fails the turn for good,
 * without a word to the user, unless the turn is a STOP or a START, which needs no agent and is
 * recorded and confirmed on every number (one used only for proactive messages too).
 */
export async function runTurn(
  turn: TurnInput,
  record: InboundRecord,
  attempt: AttemptInfo,
  deps: CoreDeps,
  log: Logger,
  conversation?: Promise<ConversationState>,
): Promise<MessageOutcome> {
  const message = turn.messages.at(-1);
  if (!message) throw new Error(`turn ${turn.id} has no message`);
  const { number, isLast } = attempt.whichAttempt(record.attempts);
  const route = deps.numbers.route(message.phoneNumberId);
  const settings = settingsFor(deps, message.phoneNumberId);
  const noAgent = route.kind === 'agent' ? undefined : new PermanentError(route.reason, 'no_agent_for_number', { fields: { phoneNumberId: message.phoneNumberId } });
  const agent: AgentClient = route.kind === 'agent' ? route.agent : refusingAgent(noAgent!);
  const ctx: TurnContext = {
    turn,
    message,
    attempt: number,
    record,
    agent,
    deps: { ...deps, settings },
    log,
    now: deps.now ?? (() => new Date()),
    optedOut: false,
    paused: false,
  };
  // However the turn ends, the user wrote to this number: its window is open (for proactive messages from it too).
  const failed = (reason: string, outcome: { exhausted: boolean; apologySent: boolean }) =>
    Promise.all([deps.ledger.markFailed(turn.id, reason, outcome), noteConversationWindow(ctx)]);
  if (noAgent && consentCommandOf(message, settings) === undefined) {
    await failed(noAgent.reason, { exhausted: false, apologySent: false });
    return { kind: 'failed', reason: noAgent.reason, error: noAgent, attempt: number };
  }
  try {
    return { kind: await answerTurn(ctx, await (conversation ?? readConversationState(message, deps, ctx.now()))) };
  } catch (error) {
    const reason = reasonOf(error);
    if (isPermanent(error)) {
      await failed(reason, { exhausted: false, apologySent: await sendApology(ctx, error) });
      return { kind: 'failed', reason, error, attempt: number };
    }
    if (!isLast) {
      await deps.ledger.releaseLease(turn.id, reason);
      return { kind: 'retry', reason, error, attempt: number };
    }
    await failed(reason, { exhausted: true, apologySent: await sendApology(ctx, error) });
    return { kind: 'exhausted', reason, error, attempt: number };
  }
}

/** The agent of a number that has none, for a turn that never asks one (a STOP or a START): any call fails for good. */
function refusingAgent(error: PermanentError): AgentClient {
  const refuse = () => Promise.reject(error);
  return { createSession: refuse, query: refuse, deleteSession: refuse };
}
