import { readFile } from 'node:fs/promises';
import { oggOpusClip } from './oggOpusClip.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { SandboxInputError, type SandboxChat, type SandboxUser } from './sandboxChat.js';
import type { Timeline } from './sandboxTimeline.js';
import type { GraphFault } from './sandboxGraphApi.js';
import type { SandboxStatuses } from './sandboxStatuses.js';

/** The chat page's routes: `/`, its assets, the `/events` stream and the `/api/*` actions. */

interface PageDependencies {
  chat: SandboxChat;
  timeline: Timeline;
  webhookUrl?: string;
  signed: boolean;
  /** The business numbers (phone_number_id) a user can write to; the page offers a choice when there are several. */
  businessNumbers: readonly string[];
  media(id: string): { bytes: Buffer; mimeType: string } | undefined;
  failNext(fault: GraphFault): void;
  clearFaults(): void;
  statuses: Pick<SandboxStatuses, 'closeWindow' | 'chatRead'>;
}

const PAGE_DIR = new URL('./page/', import.meta.url);
const ASSETS: Record<string, string> = {
  'chat.js': 'text/javascript; charset=utf-8',
  'chat.css': 'text/css; charset=utf-8',
};
// chat.js imports it as ./whatsappMarkup.js; the sandbox builds it from TypeScript, bundled with
// the worker's markup rules, so page and splitter cannot disagree on what is markup.
const MARKUP_MODULE = 'whatsappMarkup.js';
const MAX_JSON_BYTES = 64 * 1024;
// Meta's own limit for audio (images are 5 MB); the sandbox takes either up to the larger one.
const MAX_MEDIA_BYTES = 16 * 1024 * 1024;

/** Answers the request if it is one of the page's routes; false lets the Graph API handle it. */
export type PageRoutes = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

export function createPageRoutes(deps: PageDependencies): PageRoutes {
  async function renderPage(): Promise<string> {
    const template = await readFile(new URL('index.html', PAGE_DIR), 'utf8');
    const chatList = deps.chat
      .users()
      .map(
        (user) =>
          `<li><button type="button" class="chat-item" data-phone="${escapeHtml(user.phone)}" data-name="${escapeHtml(user.name)}">` +
          `<strong>${escapeHtml(user.name)}</strong><small>+${escapeHtml(user.phone)}</small></button></li>`,
      )
      .join('');
    const numbers = deps.businessNumbers
      .map((id) => `<option value="${escapeHtml(id)}">business number ${escapeHtml(id)}</option>`)
      .join('');
    const values: Record<string, string> = {
      webhookUrl: escapeHtml(deps.webhookUrl ?? 'not set: messages cannot be delivered'),
      signing: deps.signed ? 'signed with the app secret' : 'unsigned',
      chatList,
      businessNumbers: numbers,
      businessNumbersHidden: deps.businessNumbers.length > 1 ? '' : 'hidden',
    };
    return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => values[key] ?? '');
  }

  async function api(req: IncomingMessage, url: URL): Promise<unknown> {
    const route = url.pathname.slice('/api/'.length);
    if (route === 'media') {
      const user = {
        phone: url.searchParams.get('phone') ?? '',
        name: url.searchParams.get('name') ?? undefined,
        phoneNumberId: url.searchParams.get('phoneNumberId') ?? undefined,
      };
      const replyTo = url.searchParams.get('replyTo') ?? undefined;
      return deps.chat.sendMedia(
        user,
        {
          bytes: await readBody(req, MAX_MEDIA_BYTES),
          mimeType: req.headers['content-type'] ?? 'application/octet-stream',
          caption: url.searchParams.get('caption') ?? undefined,
          filename: url.searchParams.get('filename') ?? undefined,
          voice: url.searchParams.get('voice') === 'true',
        },
        replyTo ? { replyTo } : {},
      );
    }
    const body = parseJsonObject(await readBody(req, MAX_JSON_BYTES));
    switch (route) {
      case 'text':
        return deps.chat.sendText(userFrom(body), stringFrom(body, 'text'), optional(body, 'replyTo'));
      case 'staff':
        return deps.chat.sendAsStaff(userFrom(body), stringFrom(body, 'text'));
      case 'voice':
        // A recorded voice note: a short generated Ogg/Opus clip, sent as WhatsApp sends one.
        return deps.chat.sendMedia(userFrom(body), { bytes: oggOpusClip(2), mimeType: 'audio/ogg; codecs=opus', voice: true });
      case 'reaction':
        return deps.chat.react(userFrom(body), stringFrom(body, 'messageId'), optional(body, 'emoji').emoji);
      case 'button': {
        const kind = body.kind === 'list_reply' ? 'list_reply' : 'button_reply';
        const reply = { kind, id: stringFrom(body, 'id'), title: stringFrom(body, 'title') } as const;
        return deps.chat.tapButton(userFrom(body), stringFrom(body, 'messageId'), reply);
      }
      case 'redeliver':
        return deps.chat.redeliverLast();
      case 'burst':
        return deps.chat.sendBurst(userFrom(body), Number(body.count));
      case 'status-storm':
        return deps.chat.sendStatusStorm(userFrom(body));
      case 'faults': {
        const only = body.only === 'send' || body.only === 'read' ? body.only : 'all';
        const [status, code, count] = [Number(body.status), Number(body.code), Number(body.count ?? 1)];
        if (![status, code, count].every(Number.isInteger) || status < 400 || status > 599 || count < 1) {
          throw new SandboxInputError('A fault needs an HTTP status 400–599, an integer code and a count ≥ 1.');
        }
        deps.failNext({ status, code, count, only });
        return { ok: true };
      }
      case 'window/close':
        deps.statuses.closeWindow(userFrom(body).phone.replace(/\D/g, ''));
        return { ok: true };
      case 'read':
        deps.statuses.chatRead(userFrom(body).phone.replace(/\D/g, ''));
        return { ok: true };
      case 'faults/clear':
        deps.clearFaults();
        return { ok: true };
      default:
        return undefined;
    }
  }

  return async (req, res, url) => {
    const path = url.pathname;
    if (req.method === 'GET' && path === '/') {
      const html = await renderPage();
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
      return true;
    }
    if (req.method === 'GET' && path === '/favicon.ico') {
      res.writeHead(204).end();
      return true;
    }
    if (req.method === 'GET' && path.startsWith('/assets/')) {
      const name = path.slice('/assets/'.length);
      if (name === MARKUP_MODULE) {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' }).end(await bundleMarkupModule());
        return true;
      }
      const type = ASSETS[name];
      if (!type) return false;
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(await readFile(new URL(name, PAGE_DIR)));
      return true;
    }
    if (req.method === 'GET' && path === '/events') {
      deps.timeline.stream(req, res);
      return true;
    }
    if (req.method === 'GET' && path.startsWith('/api/media/')) {
      const stored = deps.media(decodeURIComponent(path.slice('/api/media/'.length)));
      if (!stored) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': stored.mimeType, 'content-length': stored.bytes.length }).end(stored.bytes);
      return true;
    }
    if (!path.startsWith('/api/')) return false;
    // A custom header needs a CORS preflight the sandbox never grants, so other sites cannot post here.
    if (req.method !== 'POST' || req.headers['x-sandbox'] !== '1') {
      sendJson(res, 405, { error: 'Page actions are POSTs from the sandbox page (header x-sandbox: 1).' });
      return true;
    }
    try {
      const answer = await api(req, url);
      if (answer === undefined) sendJson(res, 404, { error: `No sandbox action ${path}` });
      else sendJson(res, 200, answer);
    } catch (error) {
      const refused = error instanceof SandboxInputError;
      sendJson(res, refused ? 400 : 500, { error: error instanceof Error ? error.message : String(error) });
    }
    return true;
  };
}

function userFrom(body: Record<string, unknown>): SandboxUser {
  const user = body.user;
  if (typeof user !== 'object' || user === null) throw new SandboxInputError('Choose a user first.');
  const { phone, name, phoneNumberId } = user as Record<string, unknown>;
  if (typeof phone !== 'string') throw new SandboxInputError('The user needs a phone number.');
  return { phone, ...(typeof name === 'string' ? { name } : {}), ...(typeof phoneNumberId === 'string' ? { phoneNumberId } : {}) };
}

function stringFrom(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string') throw new SandboxInputError(`Missing "${key}".`);
  return value;
}

function optional<K extends string>(body: Record<string, unknown>, key: K): Partial<Record<K, string>> {
  const value = body[key];
  return typeof value === 'string' && value ? ({ [key]: value } as Partial<Record<K, string>>) : {};
}

function parseJsonObject(bytes: Buffer): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8') || '{}');
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below like any other non-object body.
  }
  throw new SandboxInputError('The request body must be a JSON object.');
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new SandboxInputError(`The upload is over ${Math.round(limit / 1024 / 1024)} MB.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** page/whatsappMarkup.ts and the shared/whatsapp/formatting modules it imports, as one browser module. */
async function bundleMarkupModule(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('whatsappMarkup.ts', PAGE_DIR))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}
