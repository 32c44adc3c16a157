import type { Logger } from '../log/logger.js';
import { maskUserId } from '../log/maskUserId.js';
import type { ConversationWindowStore } from '../store/conversationWindowStore.js';
import type { HandoffKey, HandoffRecord, HandoffStore } from '../store/handoffStore.js';
import type { OutboundMessageStore } from '../store/outboundMessageStore.js';
import type { InboundMessage } from '../whatsapp/inboundMessage.js';
import type { CoreDeps } from './coreDeps.js';
import { echoUserId, type MessageEcho } from '../whatsapp/messageEcho.js';
import type { ConversationKey } from './burstTurns.js';
import { inboundDuringHandoff, noteStaffActivity, pause, type HandoffSettings } from './handoff.js';
import { buildResumeTranscript, describeInbound, type TranscriptEntry } from './resumeTranscript.js';

/** The hand-off steps of the worker's paths: what they read and write. */
export interface HandoffDeps {
  handoffs: HandoffStore;
  settings: HandoffSettings;
  log: Logger;
  now: () => Date;
}

/** The hand-off deps of the worker's core. */
export function handoffDeps(deps: CoreDeps, log: Logger = deps.log): HandoffDeps {
  return { handoffs: deps.handoffs, settings: { timeoutMs: deps.settings.handoffTimeoutMs }, log, now: deps.now ?? (() => new Date()) };
}

/**
 * What a turn (one message, or a burst's messages) meets. `paused`: each message is in the
 * transcript, nothing else may happen (no agent, no Graph call). `proceed`: answer as usual; when
 * a pause has just ended, `transcript` goes before the user's text and `transcriptDelivered` is
 * called once the agent's answer is stored.
 */
export type HandoffCheck = { kind: 'paused' } | { kind: 'proceed'; transcript?: string; entryIds: string[] };

/**
 * Decides the turn against the conversation's hand-off (`record`, as read at the turn's start) and
 * records what a paused user said.
 */
export async function checkHandoff(
  key: ConversationKey,
  messages: readonly InboundMessage[],
  record: HandoffRecord | undefined,
  deps: HandoffDeps,
): Promise<HandoffCheck> {
  const now = deps.now();
  if (inboundDuringHandoff(record, now) === 'paused') {
    if (await deps.handoffs.recordWhilePaused(key, messages.map(userEntry), now)) {
      deps.log.info({ messages: messages.length, by: record?.by, until: record?.until }, 'message kept for staff: the bot is paused');
      return { kind: 'paused' };
    }
    // The pause ended between the read and the write: nothing was kept, this turn is the first after it.
    record = await deps.handoffs.get(key, now);
  }
  return proceedAfter(record);
}

/** The entries the resumed turn carried reached the agent (its answer is stored): drop them. */
export async function transcriptDelivered(key: ConversationKey, check: HandoffCheck, deps: HandoffDeps): Promise<void> {
  if (check.kind !== 'proceed' || check.entryIds.length === 0) return;
  await deps.handoffs.transcriptDelivered(key, check.entryIds, deps.now());
}

/** The agent called `handoff_to_human`: the bot pauses for this conversation once the turn's messages are out. */
export async function pauseForAgent(key: HandoffKey, reason: string | undefined, deps: HandoffDeps): Promise<HandoffRecord> {
  const now = deps.now();
  const record = await deps.handoffs.pause(key, (current) => pause(current, { by: 'agent', reason }, now, deps.settings), now);
  logPause(deps.log, record, now, 'agent');
  return record;
}

export interface EchoDeps extends HandoffDeps {
  windows: ConversationWindowStore;
  outbound: Pick<OutboundMessageStore, 'get'>;
}

/**
 * Staff wrote to the user from the WhatsApp Business app: a take-over, or activity that keeps
 * the pause alive; their words join the transcript (once per echo, however often Meta sends it).
 * An echo names the user by number; the conversation's own key (a BSUID) is found through the
 * user's conversation window with that business number when Meta sends no BSUID. An echo of a message the bridge itself
 * sent is ignored: were Meta ever to echo those, the bot must not silence itself after each reply.
 */
export async function recordStaffEcho(echo: MessageEcho, deps: EchoDeps, replayed = false): Promise<HandoffRecord | undefined> {
  const sentByBridge = await deps.outbound.get(echo.wamid);
  if (sentByBridge?.kind) {
    deps.log.info({ wamid: echo.wamid, kind: sentByBridge.kind }, 'echo of a message the bridge sent: ignored');
    return undefined;
  }
  const window = echo.toUserId ? undefined : await deps.windows.latest(echo.to, echo.phoneNumberId);
  const userId = window?.userId ?? echoUserId(echo);
  const key: HandoffKey = { phoneNumberId: echo.phoneNumberId, userId, phone: echo.to };
  const now = deps.now();
  const wroteAt = new Date(Math.min(now.getTime(), echo.timestamp * 1000));
  const entry: TranscriptEntry = { from: 'staff', text: describeInbound(echo.content), at: wroteAt, id: echo.wamid };
  const log = deps.log.child({ wamid: echo.wamid });
  // A dead-letter replay met after its pause would have ended, or an echo written before an operator
  // resumed the bot (a whole second before: echo times are whole seconds, and on a tie the bot stays
  // quiet), only joins the transcript: it neither starts nor renews a pause now. Delivered in order,
  // a late echo still pauses: the user's messages queued behind it were written while staff were there.
  const late = replayed && now.getTime() - wroteAt.getTime() >= deps.settings.timeoutMs;
  let stale = late;
  const record = await deps.handoffs.pause(
    key,
    (current) => {
      stale = late || (current?.endedAt !== undefined && current.endedAt.getTime() >= wroteAt.getTime() + 1000);
      if (!stale) return noteStaffActivity(current, 'business_app', now, deps.settings);
      return current ?? pause(undefined, { by: 'business_app' }, wroteAt, deps.settings);
    },
    now,
    entry,
  );
  if (stale) log.info({ wroteAt }, 'staff message from before the current state of the hand-off: kept for the transcript only');
  else logPause(log, record, now, 'business_app');
  return record;
}

/**
 * One line per pause that starts (the `whatsapp_handoffs_started` metric counts these, by `by`)
 * or is renewed. `via` says who acted, which differs from `by` when the pause was someone else's.
 */
export function logPause(log: Logger, record: HandoffRecord, now: Date, via: string): void {
  const fields = { user: maskUserId(record.userId), from: record.phoneNumberId, by: record.by, via, until: record.until, reason: record.reason };
  if (record.since.getTime() === now.getTime()) log.info(fields, 'hand-off started');
  else log.info(fields, 'hand-off renewed');
}

function proceedAfter(record: HandoffRecord | undefined): HandoffCheck {
  if (!record) return { kind: 'proceed', entryIds: [] };
  const transcript = buildResumeTranscript(record);
  return { kind: 'proceed', transcript, entryIds: record.entries.map((entry) => entry.id) };
}

function userEntry(message: InboundMessage): TranscriptEntry {
  return { from: 'user', text: describeInbound(message.content), at: new Date(message.timestamp * 1000), id: message.wamid };
}
