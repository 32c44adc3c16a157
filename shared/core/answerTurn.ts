import { PermanentError, RetryableError } from '../errors.js';
import { renderReply } from '../whatsapp/rendering/renderReply.js';
import type { ReplyChunk } from '../whatsapp/rendering/replyChunk.js';
import { resetConversation, writeConversation } from './agentSession.js';
import { askAgent, rateLimited, textParts, type AgentAnswer } from './askAgent.js';
import { conversationOf } from './burstTurns.js';
import { consentCommandOf, decideConsent } from './consentCommands.js';
import { checkHandoff, handoffDeps, transcriptDelivered, type HandoffCheck } from './conversationHandoff.js';
import type { ConversationState } from './conversationState.js';
import type { TurnContext } from './coreDeps.js';
import { decideTurnAction, type TurnAction } from './decideTurnAction.js';
import { isPaused } from './handoff.js';
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
export async function answerTurn(ctx: TurnContext, conversation: ConversationState): Promise<'answered' | 'held' | 'ignored'> {
  const { turn, message, record, deps, log } = ctx;
  const { ledger, settings } = deps;
  const { hold } = conversation;
  ctx.optedOut = conversation.optOut !== undefined;
  const handoff = await checkHandoff(conversationOf(message), turn.messages, conversation.handoff, handoffDeps(deps, log));
  ctx.paused = handoff.kind === 'paused';
  const consent = decideConsent(message, conversation.optOut, settings, record.replayId !== undefined);
  // Every outcome stores its result with the user's window noted alongside: one round trip.
  const settle = (...writes: Promise<unknown>[]) => Promise.all([...writes, noteConversationWindow(ctx)]);
  if (handoff.kind === 'paused') {
    // STOP and START still take effect, silently: staff see the words on their phone.
    if (consent === 'opt-out' || consent === 'opt-in') await recordConsent(ctx, consent);
    await settle(ledger.markAnswered(turn.id));
    return 'ignored';
  }
  let chunks = storedReply(ctx);
  // A STOP's confirmation is stored before the opt-out is recorded, so a retry that finds the user
  // opted out knows its confirmation is owed. When this version cannot read what an earlier attempt
  // stored, the STOP is confirmed anew all the same.
  const earlierAttemptStored = chunks !== undefined || record.unreadableReply !== undefined;
  const owesOptOutConfirmation = earlierAttemptStored && consentCommandOf(message, settings) === 'opt-out';
  if (consent === 'silent' && !owesOptOutConfirmation) {
    await settle(ledger.markAnswered(turn.id));
    log.info('the user has opted out: nothing sent');
    return 'ignored';
  }
  if (chunks === undefined) {
    if (consent === 'opt-out' || consent === 'opt-in' || owesOptOutConfirmation) {
      chunks = render(ctx, textParts(consent === 'opt-in' ? settings.optInConfirmText : settings.optOutConfirmText));
      await settle(ledger.saveReply(turn.id, chunks));
      record.replyChunks = chunks;
      if (consent === 'opt-out' || consent === 'opt-in') await takeConsent(ctx, consent);
    } else {
      const action = decideTurnAction(turn.messages, settings);
      if (action.kind === 'ignore') {
        await settle(ledger.markAnswered(turn.id));
        log.info({ reason: action.reason }, 'nothing to answer');
        return 'ignored';
      }
      // Only a turn that answers delivers held replies: with bursts on, a reaction's turn runs
      // beside the conversation's buffered turns, and must not race them for the same replies.
      if (hold) await deliverHeld(ctx, hold);
      showTyping(ctx);
      const answer = await answerFor(ctx, action, conversation, handoff);
      // Rendered before it is stored, so a retry sends exactly these messages, ids and all.
      chunks = render(ctx, answer.parts);
      // Only calls that could not be rendered and held no text: as for an empty reply, ask again.
      if (answer.agentAnswered && chunks.length === 0) {
        // The turn is in the agent's session now: keep a new one, so the next attempt asks in it.
        await writeConversation(ctx, answer.writes);
        throw new RetryableError('the agent answered only with calls that render to nothing to send', 'agent_empty_reply', { system: 'agent' });
      }
      // The agent may have taken minutes: staff who took over meanwhile have the conversation now.
      // The conversation's bookkeeping must not make a retry ask the agent again: it never fails the turn.
      const [tookOver] = await settle(
        answer.agentAnswered ? tookOverMeanwhile(ctx) : Promise.resolve(false),
        ledger.saveReply(turn.id, chunks, record.agentMs),
        writeConversation(ctx, answer.writes),
      );
      // The agent has the pause's transcript now; a fixed reply or a rate-limited turn leaves it for the next agent turn.
      if (answer.agentAnswered) await transcriptDelivered(conversationOf(message), handoff, handoffDeps(deps, log));
      record.replyChunks = chunks;
      if (tookOver) {
        await ledger.markAnswered(turn.id);
        log.info('a person took over while the agent was answering: its reply is kept, not sent');
        return 'ignored';
      }
    }
  } else {
    log.info({ sentChunks: record.sentChunks.length }, 'resuming with the stored reply');
    // The STOP or START whose confirmation an earlier attempt stored takes effect before it is sent
    // (that attempt may have failed before recording it, or a replay meets a later START).
    if (consent === 'opt-out' || consent === 'opt-in') await takeConsent(ctx, consent);
    // A retry after the reply was stored: the agent had the pause's transcript, whatever happened next.
    await settle(record.agentMs === undefined ? Promise.resolve() : transcriptDelivered(conversationOf(message), handoff, handoffDeps(deps, log)));
    if (hold && consent === 'proceed') await deliverHeld(ctx, hold);
  }
  return sendReply(ctx, chunks);
}

/** The turn's reply: a fixed text (still counted against the rate limit), a fresh session, or the agent's answer. */
async function answerFor(ctx: TurnContext, action: Exclude<TurnAction, { kind: 'ignore' }>, conversation: ConversationState, handoff: HandoffCheck): Promise<AgentAnswer> {
  if (action.kind === 'reply') {
    const limit = rateLimited(ctx, conversation.rateWindow);
    return { parts: textParts(limit.reply ?? action.text), agentAnswered: false, writes: { rateWindow: limit.rateWindow } };
  }
  if (action.kind === 'reset-session') {
    const session = await resetConversation(ctx, conversation.session);
    return { parts: textParts(ctx.deps.settings.resetConfirmText), agentAnswered: false, writes: { session } };
  }
  return askAgent(ctx, action.parts, conversation, handoff.kind === 'proceed' ? handoff.transcript : undefined);
}

async function takeConsent(ctx: TurnContext, consent: 'opt-out' | 'opt-in'): Promise<void> {
  await recordConsent(ctx, consent);
  ctx.optedOut = consent === 'opt-out';
}

async function tookOverMeanwhile(ctx: TurnContext): Promise<boolean> {
  const now = ctx.now();
  ctx.paused = isPaused(await ctx.deps.handoffs.get(conversationOf(ctx.message), now), now);
  return ctx.paused;
}

/** The agent's turn as the messages to send; calls it could not render as asked are logged. */
function render(ctx: TurnContext, parts: AgentAnswer['parts']): ReplyChunk[] {
  const rendered = renderReply(parts, { maxTextChars: ctx.deps.settings.maxReplyChars });
  for (const { tool, problems } of rendered.problems) {
    ctx.log.warn({ tool, problems }, `${tool} call not rendered as asked: ${problems.join('; ')}`);
  }
  return rendered.chunks;
}

/**
 * The reply an earlier attempt stored; records from before rendered replies hold plain text, split
 * as it was then. A stored reply this version cannot read (another deploy wrote it) is answered
 * anew when none of it went out; once part of it was sent, the rest cannot be sent without the risk
 * of sending a message twice, so the turn fails for good (acknowledged once, with the apology).
 */
function storedReply(ctx: TurnContext): ReplyChunk[] | undefined {
  const { record, deps, log } = ctx;
  if (record.unreadableReply !== undefined) {
    const fields = { issue: record.unreadableReply, sentChunks: record.sentChunks.length };
    if (record.sentChunks.length > 0) {
      throw new PermanentError(
        `the stored reply does not match this version's schema (${record.unreadableReply}) and ${record.sentChunks.length} of its messages were already sent`,
        'stored_reply_unreadable',
        { fields },
      );
    }
    log.error(fields, 'the stored reply does not match this version\'s schema; none of it was sent: answering anew');
    return undefined;
  }
  if (record.replyChunks) return record.replyChunks;
  if (record.replyText === undefined) return undefined;
  return renderReply(textParts(record.replyText), { maxTextChars: deps.settings.maxReplyChars }).chunks;
}
