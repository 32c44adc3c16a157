import type { BurstDeps } from '../../shared/core/receiveInbound.js';
import { receiveInbound } from '../../shared/core/receiveInbound.js';
import type { CoreDeps } from '../../shared/core/coreDeps.js';
import type { AttemptInfo, MessageOutcome } from '../../shared/core/handleInboundMessage.js';
import { processTurnDue } from '../../shared/core/processTurnDue.js';
import type { Logger } from '../../shared/log/logger.js';
import { maskUserId } from '../../shared/log/maskUserId.js';
import type { DeadLetterPublisher } from '../../shared/queue/deadLetterPublisher.js';
import { receiptFrom } from '../../shared/queue/messageReceipt.js';
import type { PushDelivery, TurnDueDelivery } from '../../shared/queue/pushEnvelope.js';
import type { TurnDuePublisher } from '../../shared/queue/turnDue.js';

export interface PushDeps extends CoreDeps, Pick<BurstDeps, 'bursts'>, Partial<Pick<BurstDeps, 'turns'>> {
  /** Must equal the subscriptions' dead-letter setting. */
  maxDeliveryAttempts: number;
  /** Set where Pub/Sub does not report delivery attempts (the emulator): the worker then dead-letters itself. */
  deadLetters?: DeadLetterPublisher;
  /** The same, for the turns subscription. */
  turnDeadLetters?: TurnDuePublisher;
}

/** `ack` → 2xx (Pub/Sub forgets the message); otherwise non-2xx (Pub/Sub retries or dead-letters). */
export interface PushResult {
  ack: boolean;
  outcome: Exclude<MessageOutcome['kind'], 'exhausted'> | 'dead-letter';
}

/**
 * One Pub/Sub push of an inbound message or of a turn-due: tells the core which attempt this is,
 * and turns its outcome into Pub/Sub's terms (acknowledge, refuse for a retry, or dead-letter).
 */
export async function processPush(delivery: PushDelivery | TurnDueDelivery, deps: PushDeps): Promise<PushResult> {
  const subject = 'due' in delivery ? delivery.due : delivery.message;
  const log = deps.log.child({ wamid: subject.wamid, user: maskUserId(subject.userId), phoneNumberId: subject.phoneNumberId });
  const attempt = attemptOf(delivery, deps.maxDeliveryAttempts);
  const outcome =
    'due' in delivery
      ? await processTurnDue(delivery.due, attempt, deps)
      : await receiveInbound(delivery.message, attempt, deps, receiptAttributes(delivery.attributes));
  switch (outcome.kind) {
    case 'answered':
    case 'held':
    case 'ignored':
    case 'buffered':
      return { ack: true, outcome: outcome.kind };
    case 'duplicate':
      log.info({ state: outcome.state }, 'duplicate delivery of a settled message: acknowledged');
      return { ack: true, outcome: 'duplicate' };
    case 'busy':
      log.info({ leaseUntil: outcome.leaseUntil }, 'another delivery holds the lease: try later');
      return { ack: false, outcome: 'busy' };
    case 'failed':
      log.error(failureFields(outcome), 'message failed permanently: acknowledged, will not retry');
      return { ack: true, outcome: 'failed' };
    case 'retry':
      log.warn(failureFields(outcome), 'attempt failed: Pub/Sub will retry');
      return { ack: false, outcome: 'retry' };
    case 'exhausted':
      if (outcome.error === undefined) log.warn('message failed on its final attempt: refusing so it dead-letters');
      else log.error(failureFields(outcome), 'final attempt failed: message goes to the dead-letter topic');
      return deadLetter(delivery, outcome.reason, deps, log);
  }
}

function attemptOf(delivery: PushDelivery | TurnDueDelivery, maxDeliveryAttempts: number): AttemptInfo {
  return {
    replayId: delivery.attributes.replayId,
    receivedAt: receiptFrom(delivery.attributes).receivedAt,
    // Pub/Sub counts attempts only where the subscription has a dead-letter policy; elsewhere the record's count stands in.
    whichAttempt(countedByRecord) {
      const number = delivery.deliveryAttempt ?? countedByRecord;
      return { number, isLast: number >= maxDeliveryAttempts };
    },
  };
}

/** The message's receipt (trace of Meta's callback, time it arrived) travels on with its turn-due. */
function receiptAttributes(attributes: Record<string, string>): Record<string, string> {
  const { traceparent, receivedAt } = attributes;
  return { ...(traceparent && { traceparent }), ...(receivedAt && { receivedAt }) };
}

/**
 * Refuses the message so Pub/Sub dead-letters it, or moves it there itself where pushes carry no
 * deliveryAttempt (the emulator, which also never dead-letters from an ordered subscription).
 */
async function deadLetter(delivery: PushDelivery | TurnDueDelivery, reason: string, deps: PushDeps, log: Logger): Promise<PushResult> {
  if (delivery.deliveryAttempt !== undefined) return { ack: false, outcome: 'dead-letter' };
  if ('due' in delivery) {
    if (!deps.turnDeadLetters) return { ack: false, outcome: 'dead-letter' };
    await deps.turnDeadLetters.publish(delivery.due, { ...delivery.attributes, deadLetteredBy: 'worker', deadLetterReason: reason });
  } else {
    if (!deps.deadLetters) return { ack: false, outcome: 'dead-letter' };
    await deps.deadLetters.publish(delivery, reason);
  }
  log.info({ reason }, 'moved to the dead-letter topic');
  return { ack: true, outcome: 'dead-letter' };
}

function failureFields(outcome: { reason: string; error?: unknown; attempt?: number }) {
  return { reason: outcome.reason, attempt: outcome.attempt, err: outcome.error, ...(outcome.error as { fields?: object } | undefined)?.fields };
}
