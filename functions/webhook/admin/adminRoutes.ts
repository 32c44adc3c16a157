import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import type { AgentClient } from '../../../shared/agent/agentClient.js';
import type { Logger } from '../../../shared/log/logger.js';
import { conversationId } from '../../../shared/core/burstTurns.js';
import { maskUserId } from '../../../shared/log/maskUserId.js';
import type { HandoffRecord } from '../../../shared/store/handoffStore.js';
import type { OptOutRecord, OptOutStore } from '../../../shared/store/optOutStore.js';
import { InvalidPageTokenError, type SessionRecord, type SessionStore } from '../../../shared/store/sessionStore.js';
import { handoffJson, type HandoffRoutes } from './handoffRoutes.js';

export interface AdminDeps {
  sessions: SessionStore;
  optOuts: OptOutStore;
  /** `/whatsapp/messages…`: proactive sends and delivery statuses. */
  messages: HttpFunction;
  /** The agent of a business number, when it has one: deleting a session also deletes it there. */
  agentFor?(phoneNumberId: string): Pick<AgentClient, 'deleteSession'> | undefined;
  /** Hand-offs: pause, resume and staff messages per user, and `handoff` in the session views. */
  handoff?: HandoffRoutes;
  log: Logger;
}

const MAX_PAGE = 100;

/**
 * `GET /whatsapp/sessions`, `GET|DELETE /whatsapp/sessions/{phone or BSUID}` and the
 * `/whatsapp/messages` routes; requests reach them authenticated (requireAdminToken). A session is
 * a conversation: one user with one business number. `?number=<phone_number_id>` filters the list
 * and picks the conversation of a user who has several (without it, such a user's GET or DELETE
 * answers 409 `number_required`).
 */
export function createAdminRoutes(deps: AdminDeps) {
  const { sessions, log } = deps;

  return async (req: Request, res: Response): Promise<void> => {
    if (req.path === '/whatsapp/messages' || req.path.startsWith('/whatsapp/messages/')) {
      await deps.messages(req, res);
      return;
    }
    const sub = /^\/whatsapp\/sessions\/([^/]+)\/(handoff|messages)\/?$/.exec(req.path);
    if (sub) {
      const subId = decodedId(sub[1]!);
      if (!deps.handoff || subId === undefined) {
        res.status(subId === undefined ? 400 : 404).json({ error: subId === undefined ? 'malformed user id' : 'not found' });
        return;
      }
      await deps.handoff.route(req, res, normalisedId(subId), sub[2] as 'handoff' | 'messages');
      return;
    }
    // The list, or one user; any other path under sessions names nothing.
    const path = /^\/whatsapp\/sessions(?:\/([^/]+))?\/?$/.exec(req.path);
    if (!path) {
      res.status(404).json({ error: 'not found' });
      return;
    }
    const id = path[1];

    if (id === undefined && req.method === 'GET') {
      const limit = Number(req.query.limit ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
        res.status(400).json({ error: `limit must be an integer from 1 to ${MAX_PAGE}` });
        return;
      }
      const pageToken = typeof req.query.pageToken === 'string' ? req.query.pageToken : undefined;
      const number = numberOf(req, res);
      if (number === null) return;
      try {
        if (req.query.handoff === 'true') {
          if (number !== undefined) res.status(400).json({ error: 'number does not combine with handoff=true' });
          else await listPaused(res, limit, pageToken);
        } else await listSessions(res, limit, pageToken, number);
      } catch (error) {
        if (!(error instanceof InvalidPageTokenError)) throw error;
        res.status(400).json({ error: 'invalid pageToken' });
      }
      return;
    }
    if (id === undefined) {
      res.status(405).set('Allow', 'GET').json({ error: 'method not allowed' });
      return;
    }

    const decoded = decodedId(id);
    if (decoded === undefined) {
      res.status(400).json({ error: 'malformed user id' });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'DELETE') {
      res.status(405).set('Allow', 'GET, DELETE').json({ error: 'method not allowed' });
      return;
    }
    const number = numberOf(req, res);
    if (number === null) return;
    const found = (await sessions.findForUser(normalisedId(decoded))).filter((s) => number === undefined || s.phoneNumberId === number);
    if (found.length === 0) {
      res.status(404).json({ error: number === undefined ? 'no session for this user' : 'no session for this user on this number' });
      return;
    }
    if (found.length > 1) {
      res.status(409).json({ error: 'number_required', numbers: found.map((s) => s.phoneNumberId) });
      return;
    }
    const session = found[0]!;
    if (req.method === 'GET') {
      const [optOuts, paused] = await Promise.all([deps.optOuts.listForUser(session.userId), deps.handoff?.pausedByUser([session.userId])]);
      res.status(200).json(toJson(session, optOuts, paused?.get(conversationId(session))));
      return;
    }
    if (!(await sessions.delete(session))) {
      res.status(404).json({ error: 'no session for this user' });
      return;
    }
    const fields = { user: maskUserId(session.userId), phoneNumberId: session.phoneNumberId };
    await deps.agentFor?.(session.phoneNumberId)?.deleteSession(session.userId, session.agentSessionId).catch((error: unknown) => {
      log.warn({ err: error, ...fields }, 'Agent Engine session not deleted; it will expire');
    });
    log.info(fields, 'session reset by an operator');
    res.status(204).end();
  };

  /** `?number=`: a phone_number_id, or unset; null once a bad one was answered with 400. */
  function numberOf(req: Request, res: Response): string | undefined | null {
    const number = req.query.number;
    if (number === undefined) return undefined;
    if (typeof number === 'string' && /^\d{1,32}$/.test(number)) return number;
    res.status(400).json({ error: 'number must be a phone_number_id (digits only)' });
    return null;
  }

  async function listSessions(res: Response, limit: number, pageToken: string | undefined, phoneNumberId: string | undefined): Promise<void> {
    const page = await sessions.list({ limit, pageToken, phoneNumberId });
    const paused = await deps.handoff?.pausedByUser(page.sessions.map((session) => session.userId));
    res.status(200).json({
      sessions: page.sessions.map((session) => toJson(session, undefined, paused?.get(conversationId(session)))),
      nextPageToken: page.nextPageToken ?? null,
    });
  }

  /** `?handoff=true`: who is waiting for a person, soonest to resume first; a user who never had a bot session shows without one. */
  async function listPaused(res: Response, limit: number, pageToken: string | undefined): Promise<void> {
    if (!deps.handoff) {
      res.status(200).json({ sessions: [], nextPageToken: null });
      return;
    }
    const page = await deps.handoff.listPaused({ limit, ...(pageToken !== undefined ? { pageToken } : {}) });
    const found = await Promise.all(page.handoffs.map((handoff) => sessions.get(handoff)));
    res.status(200).json({
      sessions: page.handoffs.map((handoff, i) => {
        const session = found[i];
        return session
          ? toJson(session, undefined, handoff)
          : {
              phoneNumberId: handoff.phoneNumberId,
              userId: handoff.userId,
              phone: handoff.phone ?? null,
              agentSessionId: null,
              handoff: handoffJson(handoff),
            };
      }),
      nextPageToken: page.nextPageToken ?? null,
    });
  }
}

function decodedId(id: string): string | undefined {
  try {
    return decodeURIComponent(id);
  } catch {
    return undefined;
  }
}

function normalisedId(id: string): string {
  return /^\+?\d+$/.test(id) ? id.replace(/^\+/, '') : id;
}

function toJson(session: SessionRecord, optOuts?: OptOutRecord[], handoff?: HandoffRecord) {
  return {
    // Sessions written before sessions were kept per number have none until `npm run migrate-sessions`.
    phoneNumberId: session.phoneNumberId ?? null,
    userId: session.userId,
    phone: session.phone ?? null,
    profileName: session.profileName ?? null,
    agentSessionId: session.agentSessionId,
    createdAt: session.createdAt.toISOString(),
    lastMessageAt: session.lastMessageAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    messageCount: session.messageCount,
    // The business numbers this user asked to stop messaging them (kept when the session is deleted).
    ...(optOuts
      ? { optOuts: optOuts.map((o) => ({ phoneNumberId: o.phoneNumberId, since: o.optedOutAt.toISOString(), command: o.command })) }
      : {}),
    // Present only while the bot is paused for this conversation.
    ...(handoff ? { handoff: handoffJson(handoff) } : {}),
  };
}
