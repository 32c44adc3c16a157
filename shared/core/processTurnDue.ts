import type { Logger } from '../log/logger.js';
import { maskUserId } from '../log/maskUserId.js';
import type { TurnDue } from '../queue/turnDue.js';
import type { InboundRecord } from '../store/inboundLedger.js';
import { nextTurn, type BufferedMessage, type BurstStep } from './burstTurns.js';
import type { BurstDeps } from './receiveInbound.js';
import { readConversationStateAhead } from './conversationState.js';
import type { CoreDeps, TurnInput } from './coreDeps.js';
import { endsBurst } from './decideTurnAction.js';
import { runTurn, settles, type AttemptInfo, type MessageOutcome } from './handleInboundMessage.js';
import { settingsFor } from './numberRoutes.js';

export type TurnDeps = CoreDeps & Pick<BurstDeps, 'bursts'>;

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The turn step with bursts on: settles every turn of the conversation up to and including the
 * one that holds `due.wamid`, in order. While the burst's window is open it waits, holding only
 * this conversation's turns subscription (the inbound one keeps filling the buffer); then it
 * takes the burst out of the buffer and claims the turn in one transaction, and the turn runs
 * under the same exactly-once rules as a single message.
 *
 * `exhausted` as outcome: the turn failed on its final attempt; the transport moves this turn-due
 * message to the dead letters.
 */
export async function processTurnDue(due: TurnDue, attempt: AttemptInfo, deps: TurnDeps): Promise<MessageOutcome> {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? wait;
  const { settings, ledger, bursts } = deps;
  const log = deps.log.child({ wamid: due.wamid, user: maskUserId(due.userId), phoneNumberId: due.phoneNumberId });
  const burst = { windowMs: settings.burstWindowMs, maxWaitMs: settings.burstMaxWaitMs };
  const numberSettings = settingsFor(deps, due.phoneNumberId);
  const decide = (pending: BufferedMessage[]): BurstStep =>
    nextTurn(pending, now(), burst, (message) => endsBurst(message, numberSettings));

  // After a wait the buffer alone says whether this message still waits; its record is read again
  // only when it has left the buffer (another delivery took its turn).
  let readRecord = true;
  let missing = 0;
  for (;;) {
    if (readRecord) {
      const record = await ledger.get(due.wamid);
      if (!record) {
        log.error('turn due for a message with no record: nothing to run');
        return { kind: 'ignored' };
      }
      if (record.turnId) return resumeTurn(record.turnId, due, attempt, deps, log);
      // Twice buffered yet not in the buffer (not a take racing our reads): nothing can run it.
      if (record.state !== 'buffered' || missing >= 2) {
        log.error({ state: record.state }, 'message is neither waiting in its buffer nor in a turn: nothing to run');
        return { kind: 'ignored' };
      }
    }
    const pending = await bursts.pending(due);
    readRecord = !pending.some((buffered) => buffered.message.wamid === due.wamid);
    if (readRecord) {
      missing += 1;
      continue;
    }
    const step = decide(pending);
    if (step.kind === 'wait') {
      await sleep(step.until.getTime() - now().getTime());
      continue;
    }
    if (step.kind === 'idle') continue;
    // The conversation is read while the turn is taken: one round trip for both.
    const conversation = readConversationStateAhead(due, deps, now());
    const taken = await bursts.takeTurn(due, decide, { now: now(), leaseMs: settings.leaseMs, retentionMs: settings.retentionMs });
    // Another delivery took it, or a message arrived and reopened the window: look again.
    if (taken.kind !== 'taken') {
      readRecord = true;
      continue;
    }
    const turnLog = log.child({ turnId: taken.record.wamid, turnMessages: taken.record.turnMessages?.length });
    turnLog.info('burst over: one turn for its messages');
    const outcome = await runTurn(turnOf(taken.record, due, attempt), taken.record, attempt, deps, turnLog, conversation);
    const holdsThisMessage = taken.record.turnMessages?.some((message) => message.wamid === due.wamid);
    if (!settles(outcome) || holdsThisMessage) return outcome;
    readRecord = true;
  }
}

/** Claims an existing turn (a retry, a duplicate push, a replay) and runs it if it is still open. */
export async function resumeTurn(
  turnId: string,
  due: TurnDue,
  attempt: AttemptInfo,
  deps: TurnDeps,
  log: Logger,
): Promise<MessageOutcome> {
  const { settings, ledger } = deps;
  const now = deps.now ?? (() => new Date());
  const turnLog = log.child({ turnId });
  const claim = await ledger.claim({
    wamid: turnId,
    userId: due.userId,
    now: now(),
    leaseMs: settings.leaseMs,
    retentionMs: settings.retentionMs,
    replayId: attempt.replayId,
  });
  if (claim.outcome === 'settled') return { kind: 'duplicate', state: claim.record.state };
  if (claim.outcome === 'exhausted') return { kind: 'exhausted', reason: claim.record.failureReason ?? 'exhausted' };
  if (claim.outcome === 'busy') return { kind: 'busy', leaseUntil: claim.record.leaseUntil };
  turnLog.info({ attempts: claim.record.attempts }, 'resuming the turn');
  return runTurn(turnOf(claim.record, due, attempt), claim.record, attempt, deps, turnLog);
}

/**
 * The turn a record holds. The reply latency runs from the receipt this turn-due carries when its
 * message opened the turn (the user has waited since then, the burst window included).
 */
function turnOf(record: InboundRecord, due: TurnDue, attempt: AttemptInfo): TurnInput {
  const messages = record.turnMessages;
  if (!messages?.length) throw new Error(`turn record ${record.wamid} holds no messages`);
  const opensTurn = record.wamid === due.wamid && !attempt.replayId;
  return { id: record.wamid, messages, receivedAt: opensTurn ? attempt.receivedAt : undefined };
}
