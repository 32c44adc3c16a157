import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import type { AgentClient } from '../../../shared/agent/agentClient.js';
import type { Logger } from '../../../shared/log/logger.js';
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
  /** When set, deleting a session also deletes it in Agent Engine. */
  agent?: Pick<AgentClient, 'deleteSession'>;
  /** Hand-offs: pause, resume and staff messages per user, and `handoff` in the session views. */
  handoff?: HandoffRoutes;
  log: Logger;
}

const MAX_PAGE = 100;

/**
 * `GET /whatsapp/sessions`, `GET|DELETE /whatsapp/sessions/{phone or BSUID}` and the
 * `/whatsapp/messages` routes; requests reach them authenticated (requireAdminToken).
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
    const id = /^\/whatsapp\/sessions\/([^/]+)\/?$/.exec(req.path)?.[1];

    if (id === undefined && req.method === 'GET') {
      const limit = Number(req.query.limit ?? 50);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
        res.status(400).json({ error: `limit must be an integer from 1 to ${MAX_PAGE}` });
        return;
      }
      const pageToken = typeof req.query.pageToken === 'string' ? req.query.pageToken : undefined;
      try {
        if (req.query.handoff === 'true') await listPaused(res, limit, pageToken);
        else await listSessions(res, limit, pageToken);
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
    const session = await findSession(decoded);
    if (req.method === 'GET') {
      if (!session) {
        res.status(404).json({ error: 'no session for this user' });
        return;
      }
      const [optOuts, paused] = await Promise.all([deps.optOuts.listForUser(session.userId), deps.handoff?.pausedByUser([session.userId])]);
      res.status(200).json(toJson(session, optOuts, paused?.get(session.userId)));
      return;
    }
    if (req.method === 'DELETE') {
      if (!session || !(await sessions.delete(session.userId))) {
        res.status(404).json({ error: 'no session for this user' });
        return;
      }
      if (deps.agent) {
        await deps.agent.deleteSession(session.userId, session.agentSessionId).catch((error: unknown) => {
          log.warn({ err: error, user: maskUserId(session.userId) }, 'Agent Engine session not deleted; it will expire');
        });
      }
      log.info({ user: maskUserId(session.userId) }, 'session reset by an operator');
      res.status(204).end();
      return;
    }
    res.status(405).set('Allow', 'GET, DELETE').json({ error: 'method not allowed' });
  };

  /** `{phone}` may be `+5491155550001`, `5491155550001` or a BSUID. */
  async function findSession(id: string): Promise<SessionRecord | undefined> {
    const normalised = normalisedId(id);
    return (await sessions.get(normalised)) ?? (await sessions.findByPhone(normalised));
  }

  async function listSessions(res: Response, limit: number, pageToken: string | undefined): Promise<void> {
    const page = await sessions.list({ limit, ...(pageToken !== undefined ? { pageToken } : {}) });
    const paused = await deps.handoff?.pausedByUser(page.sessions.map((session) => session.userId));
    res.status(200).json({
      sessions: page.sessions.map((session) => toJson(session, undefined, paused?.get(session.userId))),
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
    const found = await Promise.all(page.handoffs.map((handoff) => sessions.get(handoff.userId)));
    res.status(200).json({
      sessions: page.handoffs.map((handoff, i) => {
        const session = found[i];
        return session
          ? toJson(session, undefined, handoff)
          : { userId: handoff.userId, phone: handoff.phone ?? null, agentSessionId: null, handoff: handoffJson(handoff) };
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
    // Present only while the bot is paused for this user.
    ...(handoff ? { handoff: handoffJson(handoff) } : {}),
  };
}
