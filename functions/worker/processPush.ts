import type { CoreDeps } from '../../shared/core/coreDeps.js';
import { handleInboundMessage, type AttemptInfo, type MessageOutcome } from '../../shared/core/handleInboundMessage.js';
import { maskUserId } from '../../shared/log/maskUserId.js';
import type { DeadLetterPublisher } from '../../shared/queue/deadLetterPublisher.js';
import type { PushDelivery } from '../../shared/queue/pushEnvelope.js';

export interface PushDeps extends CoreDeps {
  /** Must equal the subscription's dead-letter setting. */
  maxDeliveryAttempts: number;
  /** Set where Pub/Sub does not report delivery attempts (the emulator): the worker then dead-letters itself. */
  deadLetters?: DeadLetterPublisher;
}

/** `ack` → 2xx (Pub/Sub forgets the message); otherwise non-2xx (Pub/Sub retries or dead-letters). */
export interface PushResult {
  ack: boolean;
  outcome: Exclude<MessageOutcome['kind'], 'exhausted'> | 'dead-letter';
}

/**
 * One Pub/Sub push delivery: tells the core which attempt this is, and turns its outcome into
 * Pub/Sub's terms (acknowledge, refuse for a retry, or dead-letter).
 */
export async function processPush(delivery: PushDelivery, deps: PushDeps): Promise<PushResult> {
  const { message } = delivery;
  const log = deps.log.child({ wamid: message.wamid, user: maskUserId(message.userId) });
  const attempt: AttemptInfo = {
    replayId: delivery.attributes.replayId,
    // Pub/Sub counts attempts only where the subscription has a dead-letter policy; elsewhere the record's count stands in.
    whichAttempt(countedByRecord) {
      const number = delivery.deliveryAttempt ?? countedByRecord;
      return { number, isLast: number >= deps.maxDeliveryAttempts };
    },
  };

  const outcome = await handleInboundMessage(message, attempt, deps);
  switch (outcome.kind) {
    case 'answered':
    case 'held':
    case 'ignored':
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
      return deadLetter(delivery, outcome.reason, deps);
  }
}

/** Refuses the message so Pub/Sub dead-letters it, or moves it there itself when Pub/Sub cannot. */
async function deadLetter(delivery: PushDelivery, reason: string, deps: PushDeps): Promise<PushResult> {
  if (delivery.deliveryAttempt !== undefined || !deps.deadLetters) return { ack: false, outcome: 'dead-letter' };
  await deps.deadLetters.publish(delivery, reason);
  return { ack: true, outcome: 'dead-letter' };
}

function failureFields(outcome: { reason: string; error?: unknown; attempt?: number }) {
  return { reason: outcome.reason, attempt: outcome.attempt, err: outcome.error, ...(outcome.error as { fields?: object } | undefined)?.fields };
}
