import { maskUserId } from '../log/maskUserId.js';
import type { TurnDue } from '../queue/turnDue.js';
import type { InboundRecord } from '../store/inboundLedger.js';
import { nextTurn, type BufferedMessage, type BurstStep } from './burstTurns.js';
import type { BurstDeps } from './bufferDelivery.js';
import { endsBurst } from './decideTurnAction.js';
import { runTurn, type DeliveryOutcome, type WorkerDeps } from './processDelivery.js';

export interface TurnDueAttempt {
  /** Set by Pub/Sub when the subscription has a dead-letter policy (not by the emulator). */
  deliveryAttempt?: number;
  /** Set by a dead-letter replay: a failed turn reopens once per replay. */
  replayId?: string;
}

export type TurnDeps = WorkerDeps & Pick<BurstDeps, 'bursts'>;

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The turn step with bursts on: settles every turn of the conversation up to and including the
 * one that holds `due.wamid`, in order. While the burst's window is open it waits, holding only
 * this conversation's turns subscription (the inbound one keeps filling the buffer); then it
 * takes the burst out of the buffer and claims the turn in one transaction, and the turn runs
 * under the same exactly-once rules as a single message.
 *
 * `dead-letter` as outcome: the turn failed on its final attempt; the entry moves this turn-due
 * message to the dead-letter topic (or refuses it, so Pub/Sub does).
 */
export async function processTurnDue(due: TurnDue, attempt: TurnDueAttempt, deps: TurnDeps): Promise<DeliveryOutcome> {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? wait;
  const { settings, ledger, bursts } = deps;
  const log = deps.log.child({ wamid: due.wamid, user: maskUserId(due.userId) });
  const burst = { windowMs: settings.burstWindowMs, maxWaitMs: settings.burstMaxWaitMs };
  const decide = (pending: BufferedMessage[]): BurstStep =>
    nextTurn(pending, now(), burst, (message) => endsBurst(message, settings));
  const deadLetter = async (): Promise<DeliveryOutcome> => ({ ack: false, outcome: 'dead-letter' });

  // After a wait the buffer alone says whether this message still waits; its record is read again
  // only when it has left the buffer (another delivery took its turn).
  let readRecord = true;
  let missing = 0;
  for (;;) {
    if (readRecord) {
      const record = await ledger.get(due.wamid);
      if (!record) {
        log.error('turn due for a message with no record: nothing to run');
        return { ack: true, outcome: 'ignored' };
      }
      if (record.turnId) return resumeTurn(record.turnId, due, attempt, deps, log, deadLetter);
      // Twice buffered yet not in the buffer (not a take racing our reads): nothing can run it.
      if (record.state !== 'buffered' || missing >= 2) {
        log.error({ state: record.state }, 'message is neither waiting in its buffer nor in a turn: nothing to run');
        return { ack: true, outcome: 'ignored' };
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
    const taken = await bursts.takeTurn(due, decide, { now: now(), leaseMs: settings.leaseMs, retentionMs: settings.retentionMs });
    // Another delivery took it, or a message arrived and reopened the window: look again.
    if (taken.kind !== 'taken') {
      readRecord = true;
      continue;
    }
    const turnLog = log.child({ turnId: taken.record.wamid, turnMessages: taken.record.turnMessages?.length });
    turnLog.info('burst over: one turn for its messages');
    const outcome = await runTurn(turnOf(taken.record), taken.record, attempt.deliveryAttempt, deps, turnLog, deadLetter);
    const holdsThisMessage = taken.record.turnMessages?.some((message) => message.wamid === due.wamid);
    if (!outcome.ack || holdsThisMessage) return outcome;
    readRecord = true;
  }
}

/** Claims an existing turn (a retry, a duplicate push, a replay) and runs it if it is still open. */
async function resumeTurn(
  turnId: string,
  due: TurnDue,
  attempt: TurnDueAttempt,
  deps: TurnDeps,
  log: TurnDeps['log'],
  deadLetter: () => Promise<DeliveryOutcome>,
): Promise<DeliveryOutcome> {
  const { settings, ledger } = deps;
  const now = deps.now ?? (() => new Date());
  const turnLog = log.child({ turnId });
  const claim = await ledger.claim({
    wamid: turnId,
    userId: due.userId,
    now: now(),
    leaseMs: settings.leaseMs,
    retentionMs: settings.retentionMs,
    ...(attempt.replayId ? { replayId: attempt.replayId } : {}),
  });
  if (claim.outcome === 'settled') {
    turnLog.info({ state: claim.record.state }, 'its turn is settled: acknowledged');
    return { ack: true, outcome: 'duplicate' };
  }
  if (claim.outcome === 'exhausted') {
    turnLog.warn('its turn failed on its final attempt: refusing so it dead-letters');
    return deadLetter();
  }
  if (claim.outcome === 'busy') {
    turnLog.info({ leaseUntil: claim.record.leaseUntil }, 'another delivery holds the turn: try later');
    return { ack: false, outcome: 'busy' };
  }
  turnLog.info({ attempts: claim.record.attempts }, 'resuming the turn');
  return runTurn(turnOf(claim.record), claim.record, attempt.deliveryAttempt, deps, turnLog, deadLetter);
}

function turnOf(record: InboundRecord) {
  const messages = record.turnMessages;
  if (!messages?.length) throw new Error(`turn record ${record.wamid} holds no messages`);
  return { id: record.wamid, messages };
}
