import type { HandoffRecord } from '../store/handoffStore.js';
import type { HeldReplies } from '../store/heldReplyStore.js';
import type { OptOutRecord } from '../store/optOutStore.js';
import type { RateWindow } from '../store/rateLimiter.js';
import type { SessionRecord } from '../store/sessionStore.js';
import type { ConversationKey } from './burstTurns.js';
import type { CoreDeps } from './coreDeps.js';

/**
 * What a turn needs to know about its conversation, read at once at its start: for an inbound
 * message in the same round trip as its claim. Nothing else writes these documents while the
 * conversation's turn runs (its messages arrive one at a time, in order), except a person taking
 * over, which the turn checks again once the agent has answered.
 */
export interface ConversationState {
  optOut: OptOutRecord | undefined;
  hold: HeldReplies | undefined;
  handoff: HandoffRecord | undefined;
  session: SessionRecord | undefined;
  rateWindow: RateWindow | undefined;
}

export async function readConversationState(conversation: ConversationKey, deps: CoreDeps, now: Date): Promise<ConversationState> {
  const [optOut, hold, handoff, session, rateWindow] = await Promise.all([
    deps.optOuts.get(conversation.phoneNumberId, conversation.userId),
    deps.held.get(conversation.phoneNumberId, conversation.userId, now),
    deps.handoffs.get(conversation, now),
    deps.sessions.get(conversation),
    deps.rateLimiter.get(conversation),
  ]);
  return { optOut, hold, handoff, session, rateWindow };
}

/**
 * Starts reading the conversation alongside another round trip (a claim). The caller may drop the
 * result (a duplicate, a turn someone else took): its failure then goes unreported, as it should;
 * awaiting it still throws.
 */
export function readConversationStateAhead(conversation: ConversationKey, deps: CoreDeps, now: Date): Promise<ConversationState> {
  const reading = readConversationState(conversation, deps, now);
  reading.catch(() => undefined);
  return reading;
}
