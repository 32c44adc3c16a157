import { recordSessionActivity, resetConversation } from './agentSession.js';
import { askAgent, type AgentAnswer } from './askAgent.js';
import type { MessageContext } from './coreDeps.js';
import { decideAction } from './decideAction.js';
import { withQuotedReply } from './quotedReply.js';
import { sendReply, showTyping } from './sendReply.js';

/**
 * Answers a claimed message: works out the reply (unless an earlier attempt stored it), stores it
 * before sending so a retry never asks the agent again, then sends what has not gone out yet.
 */
export async function answerMessage(ctx: MessageContext): Promise<'answered' | 'ignored'> {
  const { message, record, deps, log } = ctx;
  if (record.replyText === undefined) {
    const action = decideAction(message, deps.settings);
    if (action.kind === 'ignore') {
      await deps.ledger.markAnswered(message.wamid);
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
    await Promise.all([deps.ledger.saveReply(message.wamid, answer.text), answer.agentAnswered && recordSessionActivity(ctx)]);
    record.replyText = answer.text;
  } else {
    log.info({ sentChunks: record.sentChunks.length }, 'resuming with the stored reply');
  }
  await sendReply(ctx, record.replyText);
  return 'answered';
}
