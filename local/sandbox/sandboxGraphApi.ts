import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { graphErrorBody, invalidTokenBody, type GraphErrorBody } from './graphErrorBodies.js';
import { messageViolations } from './graphMessageRules.js';
import type { Timeline } from './sandboxTimeline.js';
import { newWamid } from '../webhookBodies.js';

/**
 * The Graph API half of the sandbox: sends, read receipts and media, as Meta answers them
 * (https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/send-messages,
 * .../support/error-codes, .../business-phone-numbers/media).
 */

export interface GraphFault {
  /** How many matching calls fail; default 1. */
  count?: number;
  status: number;
  code: number;
  retryAfterSeconds?: number;
  /** Which calls fail: message sends, read/typing calls, or every Graph call (default). */
  only?: 'send' | 'read' | 'all';
}

export interface GraphRequest {
  method: string;
  path: string;
  body: unknown;
  time: number;
  status: number;
}

export interface SentMessage {
  id: string;
  /** The business number it left from: the phone-number id in the request's path. */
  phoneNumberId: string;
  /** `to`, or the BSUID in `recipient`, exactly as the bot sent it. */
  to: string;
  type: string;
  /** The text a user would read: a text body, a caption, an interactive body or a reaction emoji. */
  text?: string;
  replyTo?: string;
  time: number;
  body: Record<string, unknown>;
}

export interface ReadCall {
  messageId: string;
  typing: boolean;
  time: number;
}

/** A template approved in the sandbox's WhatsApp Manager: its body with `{{1}}`-style parameters. */
export interface SandboxTemplate {
  language: string;
  body: string;
}

/** Meta's sample template every new account has, and one that invites a user back. */
export const DEFAULT_TEMPLATES: Record<string, SandboxTemplate> = {
  hello_world: {
    language: 'en_US',
    body: 'Hello World\n\nWelcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta.',
  },
  reengage: { language: 'en_US', body: 'Hi! We have an answer for you. Reply to this message to see it.' },
  order_update: { language: 'es', body: 'Hola {{1}}, tu pedido {{2}} está en camino.' },
};

interface GraphApiOptions {
  accessToken: string;
  templates: Record<string, SandboxTemplate>;
  graphApiVersion?: string;
  timeline: Timeline;
  /** The chat a send addresses, from its `to` or `recipient`. */
  phoneFor(address: string): string | undefined;
  /** Called after every Graph call, so waiters can look again. */
  onCall(): void;
  /** Called for every send Graph accepted, with the business number it left from. */
  onAccepted?(message: SentMessage, phone: string | undefined, phoneNumberId: string): void;
  log(line: string): void;
}

export interface GraphApi {
  readonly requests: GraphRequest[];
  readonly sent: SentMessage[];
  readonly reads: ReadCall[];
  setBaseUrl(url: string): void;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
  addMedia(bytes: Buffer, mimeType: string): string;
  media(id: string): StoredMedia | undefined;
  mediaUrl(id: string): string;
  failNext(fault: GraphFault): void;
  clearFaults(): void;
  reset(): void;
}

interface StoredMedia {
  bytes: Buffer;
  mimeType: string;
}

interface PendingFault {
  count: number;
  status: number;
  code: number;
  retryAfterSeconds?: number;
  only: 'send' | 'read' | 'all';
}

type Json = Record<string, unknown>;
type CallKind = 'send' | 'read' | 'media';

interface Answer {
  status: number;
  /** JSON unless a Buffer or string (a download or its refusal). */
  body: unknown;
  headers?: Record<string, string>;
}

const TEXT_LIMIT = 4096;
const CAPTION_LIMIT = 1024;
const MEDIA_URL_LIFETIME_MS = 5 * 60 * 1000;
const MAX_GRAPH_BODY_BYTES = 1024 * 1024;
const DOWNLOAD_PATH = '/whatsapp_business/attachments/';
const VERSION_PATTERN = /^v\d+\.\d+$/;
const SENDABLE_TYPES = new Set([
  'text', 'image', 'audio', 'video', 'document', 'sticker', 'interactive', 'reaction', 'location', 'contacts', 'template',
]);

class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    readonly details?: string,
  ) {
    super(details ?? `Graph error ${code}`);
  }
}

export function createGraphApi(options: GraphApiOptions): GraphApi {
  const { timeline, log } = options;
  const urlKey = randomBytes(32);
  const requests: GraphRequest[] = [];
  const sent: SentMessage[] = [];
  const reads: ReadCall[] = [];
  const media = new Map<string, StoredMedia>();
  let faults: PendingFault[] = [];
  let baseUrl = '';

  function publishFaults(): void {
    timeline.append({ kind: 'faults', pending: faults.map(({ count, status, code, only }) => ({ count, status, code, only })) });
  }

  function takeFault(kind: CallKind): PendingFault | undefined {
    const index = faults.findIndex((fault) => fault.only === 'all' || fault.only === kind);
    const fault = faults[index];
    if (!fault) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) faults.splice(index, 1);
    publishFaults();
    return fault;
  }

  function mediaUrl(id: string): string {
    const expiresAt = Math.floor((Date.now() + MEDIA_URL_LIFETIME_MS) / 1000);
    return `${baseUrl}${DOWNLOAD_PATH}?mid=${id}&ext=${expiresAt}&hash=${urlHash(id, expiresAt)}`;
  }

  function urlHash(id: string, expiresAt: number): string {
    return createHmac('sha256', urlKey).update(`${id}:${expiresAt}`).digest('base64url');
  }

  function acceptRead(body: Json): Json {
    if (typeof body.message_id !== 'string' || !body.message_id) {
      throw new GraphError(400, 100, 'The parameter message_id is required.');
    }
    const indicator = body.typing_indicator;
    if (indicator !== undefined && (!isObject(indicator) || indicator.type !== 'text')) {
      throw new GraphError(400, 100, "Param typing_indicator['type'] must be one of {TEXT}.");
    }
    const call: ReadCall = { messageId: body.message_id, typing: indicator !== undefined, time: Date.now() };
    reads.push(call);
    timeline.append({ kind: 'read', ...call });
    log(`sandbox ✓✓ bot read ${call.messageId}${call.typing ? ', typing…' : ''}`);
    return { success: true };
  }

  function acceptSend(body: Json, phoneNumberId: string): Json {
    const to = nonEmptyString(body.to);
    const recipient = nonEmptyString(body.recipient);
    const address = to ?? recipient;
    if (!address) throw new GraphError(400, 100, 'The parameter to is required.');
    const type = body.type ?? 'text';
    if (typeof type !== 'string' || !SENDABLE_TYPES.has(type)) {
      throw new GraphError(400, 100, `Param type must be one of {${[...SENDABLE_TYPES].join(', ').toUpperCase()}}.`);
    }
    const content = body[type];
    if (!isObject(content)) throw new GraphError(400, 100, `The parameter ${type} is required.`);
    checkLength(type, content);
    const [violation] = messageViolations(type, content);
    if (violation) throw new GraphError(400, 100, `Invalid parameter: ${violation}.`);
    const context = body.context;
    if (context !== undefined && (!isObject(context) || typeof context.message_id !== 'string')) {
      throw new GraphError(400, 100, "Param context['message_id'] must be a string.");
    }
    const text = type === 'template' ? renderTemplate(content) : readableText(type, content);
    const message: SentMessage = {
      id: newWamid(),
      phoneNumberId,
      to: address,
      type,
      ...(text !== undefined ? { text } : {}),
      ...(isObject(context) ? { replyTo: String(context.message_id) } : {}),
      time: Date.now(),
      body,
    };
    sent.push(message);
    const { to: _, ...event } = message;
    timeline.append({ kind: 'sent', phone: options.phoneFor(address) ?? address, ...event });
    options.onAccepted?.(message, options.phoneFor(address), phoneNumberId);
    log(`sandbox → ${address} [${type}] ${text ?? ''}`);
    return {
      messaging_product: 'whatsapp',
      contacts: [to ? { input: to, wa_id: to.replace(/\D/g, '') } : { input: recipient, user_id: recipient }],
      messages: [{ id: message.id }],
    };
  }

  /** Checks a template against the approved ones as Meta does (132001, 132000) and returns its text. */
  function renderTemplate(content: Json): string {
    const name = nonEmptyString(content.name);
    const language = isObject(content.language) ? nonEmptyString(content.language.code) : undefined;
    if (!name || !language) throw new GraphError(400, 100, "The parameters template['name'] and template['language']['code'] are required.");
    const template = options.templates[name];
    if (!template || template.language !== language) {
      throw new GraphError(404, 132001, `template name (${name}) does not exist in ${language}`);
    }
    const components = Array.isArray(content.components) ? content.components : [];
    const body = components.find((c): c is Json => isObject(c) && c.type === 'body');
    const values = (body && Array.isArray(body.parameters) ? body.parameters : []).map((p) =>
      isObject(p) && typeof p.text === 'string' ? p.text : '',
    );
    const expected = new Set(template.body.match(/\{\{\d+\}\}/g) ?? []).size;
    if (values.length !== expected) {
      throw new GraphError(400, 132000, `body: number of localizable_params (${values.length}) does not match the expected number of params (${expected})`);
    }
    return template.body.replace(/\{\{(\d+)\}\}/g, (_match, index: string) => values[Number(index) - 1] ?? '');
  }

  function mediaInfo(mediaId: string): Json {
    const stored = media.get(mediaId);
    if (!stored) throw new GraphError(400, 100, `Unsupported get request. Object with ID '${mediaId}' does not exist.`);
    return {
      messaging_product: 'whatsapp',
      url: mediaUrl(mediaId),
      mime_type: stored.mimeType,
      sha256: createHash('sha256').update(stored.bytes).digest('hex'),
      file_size: stored.bytes.length,
      id: mediaId,
    };
  }

  function download(url: URL): Answer {
    const id = url.searchParams.get('mid') ?? '';
    const expiresAt = Number(url.searchParams.get('ext'));
    const stored = media.get(id);
    if (!stored || url.searchParams.get('hash') !== urlHash(id, expiresAt) || expiresAt * 1000 < Date.now()) {
      return { status: 404, body: 'URL signature expired', headers: { 'content-type': 'text/plain' } };
    }
    return { status: 200, body: stored.bytes, headers: { 'content-type': stored.mimeType } };
  }

  /** Works out Graph's answer; `call` collects what the caller records about the request. */
  async function answer(req: IncomingMessage, url: URL, call: { body?: unknown; kind?: CallKind }): Promise<Answer> {
    const isDownload = url.pathname === DOWNLOAD_PATH;
    const [version, nodeId = '', edge, ...rest] = url.pathname.split('/').slice(1);
    if (!isDownload) {
      if (!version || !VERSION_PATTERN.test(version) || !nodeId || rest.length > 0) {
        throw new GraphError(400, 100, `Unknown path components: ${url.pathname}`);
      }
      if (options.graphApiVersion && version !== options.graphApiVersion) {
        throw new GraphError(400, 100, `Unsupported API version ${version}; the sandbox serves ${options.graphApiVersion}.`);
      }
    }
    const isSend = req.method === 'POST' && edge === 'messages';
    const isMediaInfo = req.method === 'GET' && edge === undefined && !isDownload;
    if (!isDownload && !isSend && !isMediaInfo) {
      throw new GraphError(400, 100, `Unsupported ${req.method} request on ${url.pathname}.`);
    }
    if (isSend) call.body = await readJson(req);
    const body = isObject(call.body) ? call.body : {};
    call.kind = isSend ? (body.status === 'read' ? 'read' : 'send') : 'media';
    if (req.headers.authorization !== `Bearer ${options.accessToken}`) {
      return {
        status: 401,
        body: invalidTokenBody(),
        headers: { 'www-authenticate': 'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"' },
      };
    }
    const fault = takeFault(call.kind);
    if (fault) {
      log(`sandbox ✗ ${call.kind} failed on purpose: HTTP ${fault.status}, code ${fault.code}`);
      return {
        status: fault.status,
        body: graphErrorBody(fault.code),
        ...(fault.retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(fault.retryAfterSeconds) } } : {}),
      };
    }
    if (isDownload) return download(url);
    if (isMediaInfo) return { status: 200, body: mediaInfo(nodeId) };
    if (body.messaging_product !== 'whatsapp') throw new GraphError(400, 100, 'The parameter messaging_product is required.');
    return { status: 200, body: call.kind === 'read' ? acceptRead(body) : acceptSend(body, nodeId) };
  }

  /** Puts a refused send or read on the page, so faults are visible where the user would miss the reply. */
  function reportFailure(kind: 'send' | 'read', body: unknown, status: number, error: GraphErrorBody['error']): void {
    const request = isObject(body) ? body : {};
    const address = nonEmptyString(request.to) ?? nonEmptyString(request.recipient);
    const type = nonEmptyString(request.type) ?? 'text';
    const content = request[type];
    const text = isObject(content) ? readableText(type, content) : undefined;
    const messageId = kind === 'read' ? nonEmptyString(request.message_id) : undefined;
    timeline.append({
      kind: 'graph-failed',
      call: kind,
      ...(address ? { phone: options.phoneFor(address) ?? address } : {}),
      ...(messageId ? { messageId } : {}),
      type,
      ...(text !== undefined ? { text } : {}),
      status,
      code: error.code,
      message: error.message,
      time: Date.now(),
    });
  }

  return {
    requests,
    sent,
    reads,
    setBaseUrl(url) {
      baseUrl = url;
    },
    async handle(req, res, url) {
      const call: { body?: unknown; kind?: CallKind } = {};
      let result: Answer;
      try {
        result = await answer(req, url, call);
      } catch (error) {
        const graphError =
          error instanceof GraphError ? error : new GraphError(500, 1, error instanceof Error ? error.message : String(error));
        result = { status: graphError.status, body: graphErrorBody(graphError.code, graphError.details) };
      }
      const { body } = result;
      const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      res
        .writeHead(result.status, {
          'content-type': 'application/json; charset=UTF-8',
          ...result.headers,
          'content-length': String(bytes.length),
        })
        .end(bytes);
      if (isGraphError(body) && (call.kind === 'send' || call.kind === 'read')) {
        reportFailure(call.kind, call.body, result.status, body.error);
      }
      requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, body: call.body, time: Date.now(), status: result.status });
      options.onCall();
    },
    addMedia(bytes, mimeType) {
      const id = `${randomInt(1e7, 1e8)}${randomInt(1e7, 1e8)}`;
      media.set(id, { bytes, mimeType });
      return id;
    },
    media: (id) => media.get(id),
    mediaUrl,
    failNext(fault) {
      faults.push({ ...fault, count: fault.count ?? 1, only: fault.only ?? 'all' });
      publishFaults();
    },
    clearFaults() {
      faults = [];
      publishFaults();
    },
    reset() {
      requests.length = 0;
      sent.length = 0;
      reads.length = 0;
      media.clear();
      faults = [];
    },
  };
}

function checkLength(type: string, content: Json): void {
  if (type === 'text') {
    if (typeof content.body !== 'string' || !content.body) throw new GraphError(400, 100, "The parameter text['body'] is required.");
    // UTF-16 length is the stricter reading of Meta's "4096 characters": whatever passes here passes there.
    if (content.body.length > TEXT_LIMIT) {
      throw new GraphError(400, 100, `Param text['body'] must be at most ${TEXT_LIMIT} characters long.`);
    }
  }
  if (typeof content.caption === 'string' && content.caption.length > CAPTION_LIMIT) {
    throw new GraphError(400, 100, `Param ${type}['caption'] must be at most ${CAPTION_LIMIT} characters long.`);
  }
}

function readableText(type: string, content: Json): string | undefined {
  switch (type) {
    case 'text':
      return nonEmptyString(content.body);
    case 'image':
    case 'video':
    case 'document':
      return nonEmptyString(content.caption);
    case 'interactive':
      return isObject(content.body) ? nonEmptyString(content.body.text) : undefined;
    case 'reaction':
      return typeof content.emoji === 'string' ? content.emoji : undefined;
    default:
      return undefined;
  }
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value : undefined;
}

function isGraphError(value: unknown): value is GraphErrorBody {
  return isObject(value) && isObject(value.error);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_GRAPH_BODY_BYTES) throw new GraphError(413, 100, 'Request body is too large.');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new GraphError(400, 100, 'The request body is not valid JSON.');
  }
}
