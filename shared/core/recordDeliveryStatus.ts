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
