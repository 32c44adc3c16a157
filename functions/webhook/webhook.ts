import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import { constantTimeEqual } from '../../shared/auth/constantTimeEqual.js';
import type { WebhookConfig } from '../../shared/config/config.js';
import type { Logger } from '../../shared/log/logger.js';
import { maskUserId } from '../../shared/log/maskUserId.js';
import { newTrace, traceFromHeaders, traceLogFields } from '../../shared/log/traceContext.js';
import type { InboundPublisher } from '../../shared/queue/inboundPublisher.js';
import { receiptAttributes } from '../../shared/queue/messageReceipt.js';
import type { ParsedWebhook } from '../../shared/whatsapp/parseWebhookBody.js';
import { InvalidWebhookError, parseWebhookBody } from '../../shared/whatsapp/parseWebhookBody.js';
import { isValidSignature } from '../../shared/whatsapp/signature.js';
import { toStatusMessage, type StatusMessage } from '../../shared/whatsapp/statusMessage.js';
import { outsideRequestDomain } from '../outsideRequestDomain.js';

/** Meta batches up to 1000 updates per POST (≤ 3 MB); leave room above that. */
export const MAX_WEBHOOK_BYTES = 4 * 1024 * 1024;

export interface WebhookDeps {
  publisher: InboundPublisher;
  log: Logger;
  /** The admin routes, behind their token (see requireAdminToken); unset when ADMIN_API_TOKEN is. */
  adminRoutes?: HttpFunction;
}

/** The `webhook` entry: Meta's handshake, signed callbacks → Pub/Sub, health, and the admin routes. */
export function createWebhookHandler(config: WebhookConfig, deps: WebhookDeps): HttpFunction {
  const { log } = deps;
  if (!config.WHATSAPP_APP_SECRET) {
    log.warn('WEBHOOK SIGNATURES ARE NOT CHECKED: ALLOW_UNSIGNED_WEBHOOKS=true (local emulation only)');
  }

  return async (req, res) => {
    const path = req.path.replace(/\/+$/, '') || '/';
    if (path === '/healthz') {
      res.status(200).type('text/plain').send('ok');
      return;
    }
    if (/^\/whatsapp\/(sessions|messages)(\/|$)/.test(path)) {
      if (!deps.adminRoutes) {
        res.status(404).send('Not Found');
        return;
      }
      await deps.adminRoutes(req, res);
      return;
    }
    if (path !== '/' && path !== '/webhook') {
      res.status(404).send('Not Found');
      return;
    }
    if (req.method === 'GET') return verifySubscription(req, res);
    if (req.method === 'POST') return receive(req, res);
    res.status(405).set('Allow', 'GET, POST').send('Method Not Allowed');
  };

  function verifySubscription(req: Request, res: Response): void {
    const mode = req.query['hub.mode'];
    const token = req.query['hub.verify_token'];
    const challenge = req.query['hub.challenge'];
    if (
      mode === 'subscribe' &&
      typeof challenge === 'string' &&
      typeof token === 'string' &&
      constantTimeEqual(token, config.WHATSAPP_VERIFY_TOKEN)
    ) {
      log.info('webhook subscription verified');
      res.status(200).type('text/plain').send(challenge);
      return;
    }
    log.warn({ mode }, 'webhook verification refused');
    res.status(403).send('Forbidden');
  }

  async function receive(req: Request, res: Response): Promise<void> {
    const receivedAt = new Date();
    // Every message of this callback carries its trace to the worker, so one trace shows the whole path.
    const trace = traceFromHeaders(req.headers) ?? newTrace();
    const requestLog = log.child(traceLogFields(config.GOOGLE_CLOUD_PROJECT, trace));
    const raw = req.rawBody;
    if (raw && raw.length > MAX_WEBHOOK_BYTES) {
      res.status(413).send('Payload Too Large');
      return;
    }
    if (!JSON_MEDIA_TYPE.test(req.headers['content-type'] ?? '') || !raw) {
      res.status(415).send('Unsupported Media Type: expected application/json');
      return;
    }
    if (config.WHATSAPP_APP_SECRET) {
      const signature = req.get('x-hub-signature-256');
      if (!isValidSignature(raw, signature, config.WHATSAPP_APP_SECRET)) {
        requestLog.warn({ hasSignature: Boolean(signature), bytes: raw.length }, 'webhook signature rejected');
        res.status(401).send('Unauthorized');
        return;
      }
    }
    let parsed: ParsedWebhook;
    try {
      // Parsed only once the signature holds: an anonymous caller gets no JSON.parse out of us.
      parsed = parseWebhookBody(JSON.parse(raw.toString('utf8')));
    } catch (error) {
      if (!(error instanceof InvalidWebhookError || error instanceof SyntaxError)) throw error;
      requestLog.warn({ reason: error.message }, 'webhook body rejected');
      res.status(400).send('Bad Request: not a WhatsApp webhook');
      return;
    }
    const statuses = statusesToQueue(parsed, requestLog);
    logNonMessages(parsed, requestLog);

    const attributes = receiptAttributes({ trace, receivedAt });
    try {
      await outsideRequestDomain(() =>
        Promise.all([
          statuses.length > 0 && deps.publisher.publishStatuses(statuses),
          ...parsed.echoes.map(async (echo) => {
            const messageId = await deps.publisher.publishEcho(echo, attributes);
            requestLog.info(
              { wamid: echo.wamid, user: maskUserId(echo.toUserId ?? echo.to), type: echo.content.kind, messageId },
              'Business app echo queued: staff wrote to the user',
            );
          }),
          ...parsed.messages.map(async (message) => {
            const messageId = await deps.publisher.publish(message, attributes);
            requestLog.info(
              { wamid: message.wamid, user: maskUserId(message.userId), phoneNumberId: message.phoneNumberId, type: message.content.kind, messageId },
              'inbound message queued',
            );
          }),
        ]),
      );
    } catch (error) {
      requestLog.error(
        { err: error, messages: parsed.messages.length, statuses: statuses.length, echoes: parsed.echoes.length },
        'publish to Pub/Sub failed: Meta will retry',
      );
      res.status(503).send('Service Unavailable');
      return;
    }
    // Node's own writeHead/end: Express's send() would look up the type, the charset and the
    // request's freshness for this constant answer on every message (bench/README, phase 1).
    res.writeHead(200, RECEIVED_HEADERS).end('EVENT_RECEIVED');
  }
}

/** `application/json`, any parameters, any case (as `req.is('application/json')` accepts it). */
const JSON_MEDIA_TYPE = /^application\/json\s*(?:;|$)/i;
const RECEIVED_HEADERS = { 'content-type': 'text/plain; charset=utf-8' };

/** The statuses worth recording, each logged once here (failures at error level, so they are seen). */
function statusesToQueue(parsed: ParsedWebhook, log: Logger): StatusMessage[] {
  return parsed.statuses.flatMap((update) => {
    const fields = { wamid: update.wamid, user: maskUserId(update.recipientId), status: update.status };
    const status = toStatusMessage(update);
    if ('ignored' in status) {
      log.info({ ...fields, reason: status.ignored }, 'webhook item ignored');
      return [];
    }
    if (status.status === 'failed') {
      log.error(
        { ...fields, graphErrorCode: status.error?.code, reason: status.error?.details },
        'outbound message failed to deliver',
      );
    } else {
      log.debug(fields, 'outbound message status');
    }
    return [status];
  });
}

function logNonMessages(parsed: ParsedWebhook, log: Logger): void {
  for (const error of parsed.errors) {
    log.error({ graphErrorCode: error.code, reason: error.details ?? error.title }, 'webhook reported an error');
  }
  for (const item of parsed.ignored) {
    log.info({ wamid: item.wamid, reason: item.reason }, 'webhook item ignored');
  }
}
