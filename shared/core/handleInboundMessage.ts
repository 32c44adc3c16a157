import { isPermanent, reasonOf } from '../errors.js';
import { maskUserId } from '../log/maskUserId.js';
import type { InboundState } from '../store/inboundLedger.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import { answerMessage } from './answerMessage.js';
import type { CoreDeps, MessageContext } from './coreDeps.js';
import { sendApology } from './sendReply.js';

/** What the core needs to know about the attempt it is given; the transport knows how to count. */
export interface AttemptInfo {
  /** Set on a replay from the dead letters: reopens a failed message once per replay id. */
  replayId?: string;
  /**
   * This attempt's number and whether it is the last one, given the deliveries the message's
   * record has counted (including this one).
   */
  whichAttempt(countedByRecord: number): { number: number; isLast: boolean };
}

/**
 * How one attempt at a message ended. `answered`, `held`, `ignored`, `duplicate` and `failed` settle the
 * message; `busy` and `retry` ask for it again later; `exhausted` means it failed on its last
 * attempt and belongs with the dead letters.
 */
export type MessageOutcome =
  | { kind: 'answered' }
  /** The window had closed: the reply is held for the user's return (settled). */
  | { kind: 'held' }
  | { kind: 'ignored' }
  | { kind: 'duplicate'; state: InboundState }
  | { kind: 'busy'; leaseUntil: Date | undefined }
  | { kind: 'failed' | 'retry'; reason: string; error: unknown; attempt: number }
  /** `error` and `attempt` are unset when an earlier attempt already exhausted the message. */
  | { kind: 'exhausted'; reason: string; error?: unknown; attempt?: number };

/**
 * Handles one attempt at one inbound message, exactly once in effect: claims the idempotency
 * record, answers, records progress before and after every side effect, and on failure decides
 * between another attempt and giving up (with an apology to the user).
 */
export async function handleInboundMessage(
  message: InboundMessage,
  attempt: AttemptInfo,
  deps: CoreDeps,
): Promise<MessageOutcome> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log.child({ wamid: message.wamid, user: maskUserId(message.userId) });
  const { settings, ledger } = deps;

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

  const ctx: MessageContext = { message, record: claim.record, deps, log, now, optedOut: false };
  const { number, isLast } = attempt.whichAttempt(claim.record.attempts);
  try {
    return { kind: await answerMessage(ctx) };
  } catch (error) {
    const reason = reasonOf(error);
    if (isPermanent(error)) {
      const apologySent = await sendApology(ctx, error);
      await ledger.markFailed(message.wamid, reason, { exhausted: false, apologySent });
      return { kind: 'failed', reason, error, attempt: number };
    }
    if (!isLast) {
      await ledger.releaseLease(message.wamid, reason);
      return { kind: 'retry', reason, error, attempt: number };
    }
    const apologySent = await sendApology(ctx, error);
    await ledger.markFailed(message.wamid, reason, { exhausted: true, apologySent });
    return { kind: 'exhausted', reason, error, attempt: number };
  }
}
