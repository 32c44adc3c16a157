import { recordSessionActivity, resetConversation } from './agentSession.js';
import { askAgent, rateLimited, type AgentAnswer } from './askAgent.js';
import { conversationOf } from './burstTurns.js';
import { consentCommandOf, decideConsent } from './consentCommands.js';
import { checkHandoff, handoffDeps, transcriptDelivered } from './conversationHandoff.js';
import type { TurnContext } from './coreDeps.js';
import { decideTurnAction } from './decideTurnAction.js';
import { sendReply, showTyping } from './sendReply.js';
import { deliverHeld, noteConversationWindow, recordConsent } from './userReachability.js';

/**
 * Answers a claimed turn: works out the reply (unless an earlier attempt stored it), stores it
 * before sending so a retry never asks the agent again, then sends what has not gone out yet.
 * Opt-out words are recorded and confirmed; an opted-out user gets nothing; replies held while
 * the window was closed go out first. While a person has the conversation (hand-off), the turn's
 * messages are only kept for the transcript: no agent, no Graph call; the first turn after the
 * pause gives the agent that transcript before the user's words.
 */
export async function answerTurn(ctx: TurnContext): Promise<'answered' | 'held' | 'ignored'> {
  const { turn, message, record, deps, log } = ctx;
  const { ledger, settings } = deps;
  const [optOut, hold, handoff] = await Promise.all([
    deps.optOuts.get(message.phoneNumberId, message.userId),
    deps.held.get(message.phoneNumberId, message.userId, ctx.now()),
    checkHandoff(conversationOf(message), turn.messages, handoffDeps(deps, log)),
    noteConversationWindow(ctx),
  ]);
  ctx.optedOut = optOut !== undefined;
  const consent = decideConsent(message, ctx.optedOut, settings);
  if (handoff.kind === 'paused') {
    // STOP and START still take effect, silently: staff see the words on their phone.
    if (consent === 'opt-out' || consent === 'opt-in') await recordConsent(ctx, consent);
    await ledger.markAnswered(turn.id);
    return 'ignored';
  }
  // A retry of the STOP that was recorded on an earlier attempt still owes its confirmation.
  const owesOptOutConfirmation = record.replyText !== undefined && consentCommandOf(message, settings) === 'opt-out';
  if (consent === 'silent' && !owesOptOutConfirmation) {
    await ledger.markAnswered(turn.id);
    log.info('the user has opted out: nothing sent');
    return 'ignored';
  }
  if (record.replyText === undefined) {
    if (consent === 'opt-out' || consent === 'opt-in') {
      record.replyText = await recordConsent(ctx, consent);
      await ledger.saveReply(turn.id, record.replyText);
      ctx.optedOut = consent === 'opt-out';
    } else {
      if (hold) await deliverHeld(ctx, hold);
      const action = decideTurnAction(turn.messages, settings);
      if (action.kind === 'ignore') {
        await ledger.markAnswered(turn.id);
        log.info({ reason: action.reason }, 'nothing to answer');
        return 'ignored';
      }
      showTyping(ctx);
      const answer: AgentAnswer =
        action.kind === 'reply'
          ? { text: (await rateLimited(ctx)) ?? action.text, agentAnswered: false }
          : action.kind === 'reset-session'
            ? { text: await resetConversation(ctx), agentAnswered: false }
            : await askAgent(ctx, action.parts, handoff.transcript);
      // The session's activity is bookkeeping: it must not make a retry ask the agent again.
      await Promise.all([ledger.saveReply(turn.id, answer.text, record.agentMs), answer.agentAnswered && recordSessionActivity(ctx)]);
      // The agent has the pause's transcript now; a fixed reply or a rate-limited turn leaves it for the next agent turn.
      if (answer.agentAnswered) await transcriptDelivered(conversationOf(message), handoff, handoffDeps(deps, log));
      record.replyText = answer.text;
    }
  } else {
    log.info({ sentChunks: record.sentChunks.length }, 'resuming with the stored reply');
    if (hold && consent === 'proceed') await deliverHeld(ctx, hold);
  }
  return sendReply(ctx, record.replyText);
}
