import { recordSessionActivity, resetConversation } from './agentSession.js';
import { askAgent, rateLimited, type AgentAnswer } from './askAgent.js';
import { consentCommandOf, decideConsent } from './consentCommands.js';
import type { TurnContext } from './coreDeps.js';
import { decideTurnAction } from './decideTurnAction.js';
import { sendReply, showTyping } from './sendReply.js';
import { deliverHeld, noteConversationWindow, recordConsent } from './userReachability.js';

/**
 * Answers a claimed turn: works out the reply (unless an earlier attempt stored it), stores it
 * before sending so a retry never asks the agent again, then sends what has not gone out yet.
 * Opt-out words are recorded and confirmed; an opted-out user gets nothing; replies held while
 * the window was closed go out first.
 */
export async function answerTurn(ctx: TurnContext): Promise<'answered' | 'held' | 'ignored'> {
  const { turn, message, record, deps, log } = ctx;
  const { ledger, settings } = deps;
  const [optOut, hold] = await Promise.all([
    deps.optOuts.get(message.phoneNumberId, message.userId),
    deps.held.get(message.phoneNumberId, message.userId, ctx.now()),
    noteConversationWindow(ctx),
  ]);
  ctx.optedOut = optOut !== undefined;
  const consent = decideConsent(message, ctx.optedOut, settings);
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
            : await askAgent(ctx, action.parts);
      // The session's activity is bookkeeping: it must not make a retry ask the agent again.
      await Promise.all([ledger.saveReply(turn.id, answer.text, record.agentMs), answer.agentAnswered && recordSessionActivity(ctx)]);
      record.replyText = answer.text;
    }
  } else {
    log.info({ sentChunks: record.sentChunks.length }, 'resuming with the stored reply');
    if (hold && consent === 'proceed') await deliverHeld(ctx, hold);
  }
  return sendReply(ctx, record.replyText);
}
