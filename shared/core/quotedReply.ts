import type { TurnContext } from './coreDeps.js';

const QUOTE_MAX_CHARS = 500;

/** A reply to one of the bot's messages (`quotes`: its id) tells the agent which message it answers. */
export async function withQuotedReply(ctx: TurnContext, text: string, quotes: string | undefined): Promise<string> {
  const { message, deps, log } = ctx;
  if (!quotes) return text;
  const quoted = await deps.ledger.findBySentMessageId(quotes).catch((error: unknown) => {
    log.warn({ err: error }, 'could not look up the quoted message');
    return undefined;
  });
  if (!quoted?.replyText) return text;
  // A context id is the sender's to choose: only the bot's replies to this very user may be quoted.
  const quotedBusinessNumber = quoted.turnMessages?.[0]?.phoneNumberId;
  if (quoted.userId !== message.userId || (quotedBusinessNumber !== undefined && quotedBusinessNumber !== message.phoneNumberId)) {
    log.warn('the quoted message was not sent to this user: not quoted');
    return text;
  }
  const excerpt = quoted.replyText.length > QUOTE_MAX_CHARS ? `${quoted.replyText.slice(0, QUOTE_MAX_CHARS)}…` : quoted.replyText;
  return `[Replying to your earlier message: "${excerpt}"]\n${text}`;
}
