import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from '../shared/log/logger.js';

/**
 * Not `import { STATUS_CODES } from 'node:http'`: an ES import of node:http builds its ES module
 * facade, which reads every export, and the lazy ones load Node's internal copy of undici (about
 * 50 ms of CPU at cold start, bench/README). The framework has already required node:http.
 */
const { STATUS_CODES } = process.getBuiltinModule('node:http');

export interface RequestGuardOptions {
  log: Logger;
  /**
   * Read every request body here, refusing compressed bodies (415) and bodies over this many bytes
   * (413) before they are read or while they stream. The framework's body parsers then find the
   * body consumed and leave it alone: `req.rawBody` holds the bytes, and `req.body` is the JSON
   * they hold (undefined when they are not JSON), parsed on first use, so a handler that
   * authenticates the raw bytes first never parses what an anonymous caller sent. Unset: bodies
   * are left to the framework.
   */
  maxBodyBytes?: number;
}

/** How long the rest of a refused body is read and dropped before the connection is cut. */
const DISCARD_FOR_MS = 5000;

type RequestListener = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/**
 * Puts a guard in front of every HTTP server this process runs, i.e. functions-framework's.
 *
 * Why here and this way: the framework's Express app starts with body parsers that read, inflate
 * (gzip, deflate, br) and JSON-parse up to 1 GB before our function runs, and it has no hook
 * before them. Our module is the only code of ours that runs before the server is built, so it
 * subscribes to Node's `http.server.request.start` diagnostics channel, which Node publishes just
 * before it emits `request` to the app, and on a server's first request wraps its listener. This
 * works however the framework is started (`gcloud functions deploy`, the CLI, the local stack)
 * and needs no preload flag in the deployment.
 *
 * The guard also hands the app our own final error handler: Express's default one answers an
 * error it catches (a malformed JSON body on the worker, an undecodable URL) with an HTML page
 * carrying the stack trace and file paths unless NODE_ENV is `production`.
 */
export function installRequestGuard(options: RequestGuardOptions): void {
  const guarded = new WeakSet<Server>();
  subscribe('http.server.request.start', (message) => {
    const { server } = message as { server: Server };
    if (guarded.has(server)) return;
    guarded.add(server);
    const listeners = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    for (const listener of listeners) server.on('request', guard(listener, options));
  });
}

function guard(listener: RequestListener, { log, maxBodyBytes }: RequestGuardOptions): RequestListener {
  return function guardedListener(this: Server, req, res) {
    const pass = () => listener.call(this, req, res, (err) => answerPlainly(req, res, err, log));
    if (maxBodyBytes === undefined || !hasBody(req)) return pass();

    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity') {
      log.warn({ contentEncoding: encoding.slice(0, 40) }, 'request refused: compressed body');
      return refuse(req, res, 415, 'Unsupported Media Type: Content-Encoding must be identity');
    }
    const declared = Number(req.headers['content-length']);
    if (declared > maxBodyBytes) {
      log.warn({ bytes: declared }, 'request refused: declared body over the limit');
      return refuse(req, res, 413, STATUS_CODES[413]!);
    }

    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= maxBodyBytes) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData).off('end', onEnd);
      chunks.length = 0;
      log.warn({ bytes: received }, 'request refused: streamed body over the limit');
      refuse(req, res, 413, STATUS_CODES[413]!);
    };
    const onEnd = () => {
      const raw = Buffer.concat(chunks, received);
      Object.assign(req, { rawBody: raw });
      defineLazyJsonBody(req, raw);
      pass();
    };
    req.on('data', onData).on('end', onEnd);
  };
}

function defineLazyJsonBody(req: IncomingMessage, raw: Buffer): void {
  const isJson = /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(req.headers['content-type'] ?? '');
  let parsed: { value: unknown } | undefined;
  Object.defineProperty(req, 'body', {
    configurable: true,
    enumerable: true,
    get() {
      parsed ??= { value: isJson ? parseJson(raw) : undefined };
      return parsed.value;
    },
    set(value: unknown) {
      parsed = { value };
    },
  });
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
}

/**
 * Answers at once and keeps nothing of the body. The rest is read and dropped, so a client that
 * sends its whole body before reading (most do) gets the answer instead of a reset connection;
 * one that keeps sending is cut off after a few seconds.
 */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
  req.resume();
  const cutOff = setTimeout(() => req.socket.destroy(), DISCARD_FOR_MS).unref();
  req.once('end', () => clearTimeout(cutOff));
}

/** The app's final handler: the status and its standard text, never the error's message or stack. */
function answerPlainly(req: IncomingMessage, res: ServerResponse, err: unknown, log: Logger): void {
  const status = errorStatus(err);
  if (status >= 500) log.error({ err, status, method: req.method }, 'request failed before the function ran');
  else if (err !== undefined) log.warn({ reason: (err as Error).message, status, method: req.method }, 'request refused before the function ran');
  if (res.headersSent) {
    req.socket.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
  res.end(STATUS_CODES[status]);
}

function errorStatus(err: unknown): number {
  if (err === undefined) return 404;
  const { status, statusCode } = (err ?? {}) as { status?: unknown; statusCode?: unknown };
  const code = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : 500;
  return code >= 400 && code <= 599 ? code : 500;
}
