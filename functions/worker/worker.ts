import type { HttpFunction } from '@google-cloud/functions-framework';
import { RetryableError } from '../../shared/errors.js';
import type { Logger } from '../../shared/log/logger.js';
import { outsideRequestDomain } from '../outsideRequestDomain.js';
import { newTrace, traceFromHeaders, traceLogFields } from '../../shared/log/traceContext.js';
import { receiptFrom } from '../../shared/queue/messageReceipt.js';
import { decodePushEnvelope, InvalidPushError } from '../../shared/queue/pushEnvelope.js';
import { recordStaffEcho } from '../../shared/core/conversationHandoff.js';
import { recordDeliveryStatus } from '../../shared/core/recordDeliveryStatus.js';
import type { WorkerAdapters } from './composeWorker.js';
import { processPush } from './processPush.js';
import type { PushTokenVerifier } from './verifyPushToken.js';

export interface WorkerHandlerOptions {
  /** For the trace field of every log line. */
  projectId: string;
  log: Logger;
  /** The adapters; they may still be loading when the first request comes. */
  deps: () => Promise<WorkerAdapters>;
  /** When set, every push must carry a valid OIDC token. */
  verifyPush?: PushTokenVerifier;
}

/**
 * The `worker` entry: one Pub/Sub push request → one processed message. 2xx acknowledges;
 * anything else makes Pub/Sub retry and, after the last attempt, dead-letter.
 *
 * The whole request runs outside functions-framework's request `domain`: a message's Firestore,
 * agent and Graph calls create thousands of promises and callbacks, which the domain would tag
 * and enter and leave one by one (4–10% of the worker's CPU in bench profiles). A failure still
 * rejects the returned promise, which the caller answers with a 500.
 */
export function createWorkerHandler(options: WorkerHandlerOptions): HttpFunction {
  const handle = handlePush(options);
  return (req, res) => outsideRequestDomain(() => handle(req, res));
}

function handlePush({ projectId, log, deps, verifyPush }: WorkerHandlerOptions): HttpFunction {
  return async (req, res) => {
    const pushTrace = traceFromHeaders(req.headers) ?? newTrace();
    const requestLog = log.child(traceLogFields(projectId, pushTrace));
    if (req.method !== 'POST') {
      res.status(405).send('Method Not Allowed');
      return;
    }
    if (verifyPush) {
      const problem = await verifyPush(req.headers.authorization);
      if (problem) {
        requestLog.warn({ reason: problem }, 'push request refused: bad OIDC token');
        res.status(401).send('Unauthorized');
        return;
      }
    }
    let delivery;
    try {
      delivery = decodePushEnvelope(req.body);
    } catch (error) {
      if (!(error instanceof InvalidPushError)) throw error;
      if (error.kind === 'envelope') {
        requestLog.warn({ reason: error.message }, 'not a Pub/Sub push request');
        res.status(400).send('Bad Request: expected a Pub/Sub push envelope');
      } else {
        requestLog.error({ reason: error.message }, 'undecodable message dropped');
        res.status(204).end();
      }
      return;
    }
    if ('status' in delivery) {
      try {
        await recordDeliveryStatus(delivery.status, { ...(await deps()).statuses, log: requestLog });
        res.status(204).end();
      } catch (error) {
        // A retryable refusal is expected (a failure that overtook its send's record); anything else is not.
        requestLog[error instanceof RetryableError ? 'warn' : 'error']({ err: error, wamid: delivery.status.wamid }, 'status not recorded: Pub/Sub will retry');
        res.status(503).send('retry');
      }
      return;
    }
    if ('echo' in delivery) {
      const { traceId, sampled } = receiptFrom(delivery.attributes).trace ?? pushTrace;
      const echoLog = log.child(traceLogFields(projectId, { traceId, sampled }));
      try {
        await recordStaffEcho(delivery.echo, { ...(await deps()).echoes, log: echoLog }, delivery.attributes.replayId !== undefined);
        res.status(204).end();
      } catch (error) {
        echoLog.error({ err: error, wamid: delivery.echo.wamid }, 'Business app echo not recorded: Pub/Sub will retry');
        res.status(503).send('retry');
      }
      return;
    }
    // From here on every line belongs to the message (or its turn): it carries the trace of Meta's
    // callback, which the webhook put in the attributes (and a turn-due carries on), so Cloud Logging
    // shows the whole path under one trace. The worker opens no span of its own.
    const { traceId, sampled } = receiptFrom(delivery.attributes).trace ?? pushTrace;
    const messageLog = log.child(traceLogFields(projectId, { traceId, sampled }));
    try {
      const result = await processPush(delivery, { ...(await deps()).deliveries, log: messageLog });
      res.status(result.ack ? 204 : result.outcome === 'busy' ? 429 : 503).send(result.ack ? undefined : result.outcome);
    } catch (error) {
      const wamid = 'due' in delivery ? delivery.due.wamid : delivery.message.wamid;
      messageLog.error({ err: error, wamid }, 'worker error: Pub/Sub will retry');
      res.status(500).send('retry');
    }
  };
}
