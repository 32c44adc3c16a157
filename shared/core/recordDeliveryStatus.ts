import { RetryableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { maskUserId } from '../log/maskUserId.js';
import type { OutboundMessageStore } from '../store/outboundMessageStore.js';
import { OUTSIDE_WINDOW_CODE } from '../whatsapp/graphErrors.js';
import type { StatusMessage } from '../whatsapp/statusMessage.js';
import { failureClassOf } from './deliveryStatus.js';
import { holdReplies, type ReengagementDeps } from './reengagement.js';

export interface StatusDeps extends ReengagementDeps {
  outbound: OutboundMessageStore;
  log: Logger;
}

/**
 * Records one status webhook against the outbound message (one Firestore read, and a write only
 * when the status moves forward). A reply that failed with 131047 is held for the user's return.
 */
export async function recordDeliveryStatus(status: StatusMessage, deps: StatusDeps): Promise<'recorded' | 'unchanged'> {
  const log = deps.log.child({ wamid: status.wamid, user: maskUserId(status.recipient) });
  if (status.status === 'failed' && status.error?.code === OUTSIDE_WINDOW_CODE) await awaitRecordOfSend(status, deps);
  const { changed, previous } = await deps.outbound.applyStatus(
    {
      wamid: status.wamid,
      phoneNumberId: status.phoneNumberId,
      ...(status.recipient ? { userId: status.recipient } : {}),
      status: status.status,
      timestamp: status.timestamp,
      ...(status.error ? { error: status.error } : {}),
    },
    deps.now(),
  );
  if (!changed) {
    log.debug({ status: status.status, stored: previous?.status }, 'status changes nothing: kept the stored one');
    return 'unchanged';
  }
  if (status.status !== 'failed') {
    log.debug({ status: status.status, previous: previous?.status }, 'delivery status recorded');
    return 'recorded';
  }
  const code = status.error?.code;
  log.warn(
    { graphErrorCode: code, failureClass: failureClassOf(code), reason: status.error?.details, kind: changed.kind },
    'delivery failure recorded',
  );
  if (code === OUTSIDE_WINDOW_CODE && changed.kind === 'reply' && changed.text !== undefined && changed.userId) {
    await holdReplies(
      { phoneNumberId: changed.phoneNumberId, userId: changed.userId, ...(changed.phone ? { phone: changed.phone } : {}) },
      [{ id: `${changed.inReplyTo ?? changed.wamid}#${changed.chunkIndex ?? 0}`, text: changed.text, heldAt: deps.now() }],
      { ...deps, log },
    );
  }
  return 'recorded';
}

/**
 * How long a 131047 failure waits for the worker's record of the send it reports (written within
 * moments of Graph's acceptance) before it is taken as a message the bridge did not record (an
 * apology, another sender on the number). Short enough that Pub/Sub's retries (10 s apart at
 * least) get past it well before the message would be dead-lettered.
 */
export const SEND_RECORD_GRACE_MS = 30_000;

/**
 * Meta's failed status can overtake the worker's record of the send (it is written once Graph
 * accepts the message): recorded first, the failure would find no reply to hold, and once stored
 * it changes nothing on redelivery. So a recent one waits, through Pub/Sub's retry, for the record.
 * One more read, for this rare status only.
 */
async function awaitRecordOfSend(status: StatusMessage, deps: StatusDeps): Promise<void> {
  if (deps.now().getTime() - status.timestamp * 1000 > SEND_RECORD_GRACE_MS) return;
  if ((await deps.outbound.get(status.wamid))?.kind !== undefined) return;
  throw new RetryableError('a 131047 failure of a send not recorded yet: Pub/Sub will bring it again', 'status_before_send');
}
