import { reasonOf } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { maskUserId } from '../log/maskUserId.js';
import type { TurnDuePublisher } from '../queue/turnDue.js';
import type { BurstBuffer } from '../store/burstBuffer.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import { conversationOf } from './burstTurns.js';
import { decideConsent } from './consentCommands.js';
import type { CoreDeps } from './coreDeps.js';
import { decideAction } from './decideAction.js';
import { handleInboundMessage, type AttemptInfo, type MessageOutcome } from './handleInboundMessage.js';
import { isPaused } from './handoff.js';
import { resumeTurn } from './processTurnDue.js';
import { settingsFor } from './numberRoutes.js';

export interface BurstDeps extends CoreDeps {
  bursts: BurstBuffer;
  turns: TurnDuePublisher;
}

/**
 * One inbound message: with bursts off, or for a message with nothing to answer (a reaction), the
 * turn is the message itself and runs now; otherwise it joins its burst. `carried`: what the
 * turn-due message must carry on for the turn's log lines and latency (the message's receipt).
 */
export async function receiveInbound(
  message: InboundMessage,
  attempt: AttemptInfo,
  deps: CoreDeps & Partial<BurstDeps>,
  carried: Record<string, string> = {},
): Promise<MessageOutcome> {
  const { bursts, turns } = deps;
  const joinsBurst = deps.settings.burstWindowMs > 0 && decideAction(message, settingsFor(deps, message.phoneNumberId)).kind !== 'ignore';
  if (!joinsBurst || !bursts || !turns) return handleInboundMessage(message, attempt, deps);
  return bufferMessage(message, attempt, { ...deps, bursts, turns }, carried);
}

/**
 * The inbound step with bursts on. The ordered subscription holds a user's next message until
 * this one is acknowledged, so nothing waits here: the message joins its conversation's buffer
 * (idempotently, with its record), the user sees it read and the bot typing, and a turn-due
 * message is queued for the turns subscription, which runs the turn once the burst is over.
 * Everything is awaited before the acknowledgement: an instance gets no CPU after it.
 */
async function bufferMessage(message: InboundMessage, attempt: AttemptInfo, deps: BurstDeps, carried: Record<string, string>): Promise<MessageOutcome> {
  const now = deps.now ?? (() => new Date());
  const log = deps.log.child({ wamid: message.wamid, user: maskUserId(message.userId), phoneNumberId: message.phoneNumberId });
  const [result, optOut, handoff] = await Promise.all([
    deps.bursts.add(message, now(), deps.settings.retentionMs),
    deps.optOuts.get(message.phoneNumberId, message.userId),
    deps.handoffs.get(conversationOf(message), now()),
  ]);
  const due = { v: 1 as const, kind: 'turn-due' as const, wamid: message.wamid, userId: message.userId, phoneNumberId: message.phoneNumberId };
  // A failed message's dead letter, replayed: the first message of a turn reopens the whole turn;
  // one of the one-turn-per-message path reopens there.
  if (!result.added && result.state === 'failed' && attempt.replayId) {
    const record = await deps.ledger.get(message.wamid);
    return record?.turnId ? resumeTurn(record.turnId, due, attempt, deps, log) : handleInboundMessage(message, attempt, deps);
  }
  // A buffered record may be a retry after a failed publish: queue the turn-due again (extras are harmless).
  if (!result.added && result.state !== 'buffered') return { kind: 'duplicate', state: result.state };
  // An opted-out user gets nothing, not even a read receipt; a STOP or START gets its confirmation in its turn.
  // While a person has the conversation the chat stays unread on the staff's phone: no receipt either.
  const seen = result.added && decideConsent(message, optOut, settingsFor(deps, message.phoneNumberId), attempt.replayId !== undefined) === 'proceed' && !isPaused(handoff, now());
  await Promise.all([deps.turns.publish(due, carried), seen && markRead(message, deps, log)]);
  log.info({ added: result.added }, 'message buffered: its turn runs when the burst is over');
  return { kind: 'buffered' };
}

/** Read receipt and typing indicator at once, so the user sees the bot is there during the wait. */
async function markRead(message: InboundMessage, deps: BurstDeps, log: Logger): Promise<void> {
  await deps.whatsapp.markReadWithTyping(message.phoneNumberId, message.wamid).catch((error: unknown) => {
    log.warn({ err: error, reason: reasonOf(error) }, 'read receipt / typing indicator failed');
  });
}
