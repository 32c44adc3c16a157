import type { InboundRecord } from '../store/inboundLedger.js';
import { readableText } from '../whatsapp/outboundMessage.js';
import type { TurnContext } from './coreDeps.js';

const QUOTE_MAX_CHARS = 500;

/**
 * A reply to one of the bot's messages (`quotes`: its id; a tapped button included) tells the
 * agent which message it answers.
 */
export async function withQuotedReply(ctx: TurnContext, text: string, quotes: string | undefined): Promise<string> {
  const { message, deps, log } = ctx;
  if (!quotes) return text;
  const quoted = await deps.ledger.findBySentMessageId(quotes).catch((error: unknown) => {
    log.warn({ err: error }, 'could not look up the quoted message');
    return undefined;
  });
  const quotedText = quoted && textOfSent(quoted, quotes);
  if (!quoted || !quotedText) return text;
  // A context id is the sender's to choose: only the bot's replies to this very user may be quoted.
  const quotedBusinessNumber = quoted.turnMessages?.[0]?.phoneNumberId;
  if (quoted.userId !== message.userId || (quotedBusinessNumber !== undefined && quotedBusinessNumber !== message.phoneNumberId)) {
    log.warn('the quoted message was not sent to this user: not quoted');
    return text;
  }
  const excerpt = quotedText.length > QUOTE_MAX_CHARS ? `${quotedText.slice(0, QUOTE_MAX_CHARS)}…` : quotedText;
  return `[Replying to your earlier message: "${excerpt}"]\n${text}`;
}

/** The words of the one message the user quoted; a record from before rendered replies has only its whole text. */
function textOfSent(record: InboundRecord, graphMessageId: string): string | undefined {
  if (!record.replyChunks) return record.replyText;
  const index = record.sentChunks.find((sent) => sent.graphMessageId === graphMessageId)?.index;
  const chunk = index === undefined ? undefined : record.replyChunks[index];
  return chunk?.kind === 'message' ? readableText(chunk.message) : undefined;
}
