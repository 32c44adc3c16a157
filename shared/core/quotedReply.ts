import type { MessageContext } from './coreDeps.js';

const QUOTE_MAX_CHARS = 500;

/** A reply to one of the bot's messages tells the agent which message it answers. */
export async function withQuotedReply(ctx: MessageContext, text: string): Promise<string> {
  const { message, deps, log } = ctx;
  if (!message.contextWamid) return text;
  const quoted = await deps.ledger.findBySentMessageId(message.contextWamid).catch((error: unknown) => {
    log.warn({ err: error }, 'could not look up the quoted message');
    return undefined;
  });
  if (!quoted?.replyText) return text;
  const excerpt = quoted.replyText.length > QUOTE_MAX_CHARS ? `${quoted.replyText.slice(0, QUOTE_MAX_CHARS)}…` : quoted.replyText;
  return `[Replying to your earlier message: "${excerpt}"]\n${text}`;
}
