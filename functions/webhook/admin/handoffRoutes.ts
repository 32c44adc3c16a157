import type { Request, Response } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { logPause } from '../../../shared/core/conversationHandoff.js';
import { MAX_HANDOFF_MINUTES, noteStaffActivity, pause, type HandoffSettings } from '../../../shared/core/handoff.js';
import type { ProactiveDeps } from '../../../shared/core/sendProactiveMessage.js';
import type { Logger } from '../../../shared/log/logger.js';
import { conversationId } from '../../../shared/core/burstTurns.js';
import { maskUserId } from '../../../shared/log/maskUserId.js';
import type { ConversationWindowStore } from '../../../shared/store/conversationWindowStore.js';
import type { HandoffRecord, HandoffStore } from '../../../shared/store/handoffStore.js';
import { sendFromRequest } from './messageRoutes.js';

export interface HandoffRouteDeps {
  handoffs: HandoffStore;
  windows: ConversationWindowStore;
  settings: HandoffSettings;
  /** Absent when the webhook function has no WHATSAPP_ACCESS_TOKEN: staff sends answer 501. */
  proactive?: ProactiveDeps;
  log: Logger;
  now: () => Date;
}

const pauseSchema = z
  .object({
    reason: z.string().trim().min(1).max(500).optional(),
    minutes: z.number().int().min(1).max(MAX_HANDOFF_MINUTES).optional(),
    /** The business number whose conversation pauses; default: the one the user last wrote to. */
    from: z.string().trim().min(1).optional(),
  })
  .strict();

const staffMessageSchema = z
  .object({
    text: z.string().min(1).max(4096),
    from: z.string().trim().min(1).optional(),
  })
  .strict();

/** What the admin API shows of an active pause. */
export function handoffJson(record: HandoffRecord) {
  return {
    phoneNumberId: record.phoneNumberId,
    since: record.since.toISOString(),
    until: record.until.toISOString(),
    reason: record.reason ?? null,
    by: record.by,
  };
}

/**
 * `POST|DELETE /whatsapp/sessions/{id}/handoff` (an operator pauses or resumes the bot for a
 * user) and `POST /whatsapp/sessions/{id}/messages` (staff write to the user as the business;
 * that is staff activity, and a take-over when no pause is active).
 */
export function createHandoffRoutes(deps: HandoffRouteDeps) {
  const { handoffs, log } = deps;

  async function pauseRoute(req: Request, res: Response, id: string): Promise<void> {
    // No body means the defaults; a body that is not JSON is refused, not taken for none.
    if ((req.rawBody?.length ?? 0) > 0 && req.body === undefined) {
      res.status(400).json({ error: 'invalid_request', details: 'the body is not JSON' });
      return;
    }
    const body = pauseSchema.safeParse(req.body ?? {});
    if (!body.success) {
      res.status(400).json({ error: 'invalid_request', details: z.prettifyError(body.error) });
      return;
    }
    const conversation = await conversationOf(id, body.data.from);
    if (!conversation) {
      res.status(400).json({ error: 'from_required', details: 'this user never wrote to the bridge: say which business number pauses' });
      return;
    }
    const now = deps.now();
    const request = { by: 'admin' as const, reason: body.data.reason, minutes: body.data.minutes };
    const record = await handoffs.pause(conversation, (current) => pause(current, request, now, deps.settings), now);
    logPause(log, record, now, 'admin');
    res.status(200).json({ handoff: handoffJson(record) });
  }

  async function resumeRoute(req: Request, res: Response, id: string): Promise<void> {
    const from = typeof req.query.from === 'string' ? req.query.from : undefined;
    const now = deps.now();
    const paused = (await handoffs.listPausedForUsers([id], now)).filter((record) => from === undefined || record.phoneNumberId === from);
    const resumed = await Promise.all(paused.map((record) => handoffs.resume(record, now)));
    if (!resumed.some(Boolean)) {
      res.status(404).json({ error: 'not_paused' });
      return;
    }
    for (const record of paused) log.info({ user: maskUserId(record.userId), from: record.phoneNumberId }, 'hand-off: bot resumed by an operator');
    res.status(204).end();
  }

  async function staffMessageRoute(req: Request, res: Response, id: string): Promise<void> {
    // The same rules as a proactive text: never to an opted-out user, free text only inside the window (409 outside_window).
    const sent = await sendFromRequest(req, res, deps.proactive, staffMessageSchema, (body) => ({ to: id, ...body, kind: 'staff' }));
    if (!sent) return;
    const { result, body } = sent;
    const now = deps.now();
    const entry = { from: 'staff' as const, text: body.text, at: now, id: result.wamid };
    const record = await handoffs.pause(result.conversation, (current) => noteStaffActivity(current, 'admin', now, deps.settings), now, entry);
    logPause(log, record, now, 'admin');
    log.info({ user: maskUserId(record.userId), from: record.phoneNumberId, wamid: result.wamid }, 'hand-off: staff message sent through the admin API');
    res.status(200).json({ wamid: result.wamid, handoff: handoffJson(record) });
  }

  /** The conversation an operator means: the number given, or the one the user last wrote to. */
  async function conversationOf(id: string, from: string | undefined) {
    const latest = await deps.windows.latest(id);
    const phoneNumberId = from ?? latest?.phoneNumberId;
    if (!phoneNumberId) return undefined;
    const window = latest?.phoneNumberId === phoneNumberId ? latest : await deps.windows.get(phoneNumberId, latest?.userId ?? id);
    const userId = window?.userId ?? latest?.userId ?? id;
    const phone = window?.phone ?? latest?.phone ?? (/^\d+$/.test(id) ? id : undefined);
    return { phoneNumberId, userId, phone };
  }

  return {
    /** Handles `/whatsapp/sessions/{id}/handoff|messages`; `id` is already decoded and without `+`. */
    async route(req: Request, res: Response, id: string, action: 'handoff' | 'messages'): Promise<void> {
      if (action === 'messages') {
        if (req.method === 'POST') return staffMessageRoute(req, res, id);
        res.status(405).set('Allow', 'POST').json({ error: 'method not allowed' });
        return;
      }
      if (req.method === 'POST') return pauseRoute(req, res, id);
      if (req.method === 'DELETE') return resumeRoute(req, res, id);
      res.status(405).set('Allow', 'POST, DELETE').json({ error: 'method not allowed' });
    },
    /** The users' paused conversations, keyed by conversationId (number and user). */
    async pausedByUser(userIds: readonly string[]): Promise<Map<string, HandoffRecord>> {
      const records = userIds.length === 0 ? [] : await handoffs.listPausedForUsers(userIds, deps.now());
      return new Map(records.map((record) => [conversationId(record), record]));
    },
    /** `?handoff=true`: paused conversations, soonest to resume first. */
    listPaused(options: { limit: number; pageToken?: string }) {
      return handoffs.listPaused({ now: deps.now(), ...options });
    },
  };
}

export type HandoffRoutes = ReturnType<typeof createHandoffRoutes>;

