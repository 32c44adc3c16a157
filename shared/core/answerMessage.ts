import { recordSessionActivity, resetConversation } from './agentSession.js';
import { askAgent, type AgentAnswer } from './askAgent.js';
import { consentCommandOf, decideConsent } from './consentCommands.js';
import type { MessageContext } from './coreDeps.js';
import { decideAction } from './decideAction.js';
import { withQuotedReply } from './quotedReply.js';
import { sendReply, showTyping } from './sendReply.js';
import { deliverHeld, noteConversationWindow, recordConsent } from './userReachability.js';

/**
 * Answers a claimed message: works out the reply (unless an earlier attempt stored it), stores it
 * before sending so a retry never asks the agent again, then sends what has not gone out yet.
 * Opt-out words are recorded and confirmed; an opted-out user gets nothing; replies held while
 * the window was closed go out first.
 */
export async function answerMessage(ctx: MessageContext): Promise<'answered' | 'held' | 'ignored'> {
  const { message, record, deps, log } = ctx;
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
    await ledger.markAnswered(message.wamid);
    log.info('the user has opted out: nothing sent');
    return 'ignored';
  }
  if (record.replyText === undefined) {
    if (consent === 'opt-out' || consent === 'opt-in') {
      record.replyText = await recordConsent(ctx, consent);
      await ledger.saveReply(message.wamid, record.replyText);
      ctx.optedOut = consent === 'opt-out';
    } else {
      if (hold) await deliverHeld(ctx, hold);
      const action = decideAction(message, settings);
      if (action.kind === 'ignore') {
        await ledger.markAnswered(message.wamid);
        log.info({ reason: action.reason }, 'nothing to answer');
        return 'ignored';
      }
      showTyping(ctx);
      const answer: AgentAnswer =
        action.kind === 'reply'
          ? { text: action.text, agentAnswered: false }
          : action.kind === 'reset-session'
            ? { text: await resetConversation(ctx), agentAnswered: false }
            : await askAgent(ctx, await withQuotedReply(ctx, action.text), action.media);
      // The session's activity is bookkeeping: it must not make a retry ask the agent again.
      await Promise.all([ledger.saveReply(message.wamid, answer.text), answer.agentAnswered && recordSessionActivity(ctx)]);
      record.replyText = answer.text;
    }
  } else {
    log.info({ sentChunks: record.sentChunks.length }, 'resuming with the stored reply');
    if (hold && consent === 'proceed') await deliverHeld(ctx, hold);
  }
  return sendReply(ctx, record.replyText);
}
