import type { HttpFunction } from '@google-cloud/functions-framework';
import type { WorkerConfig } from '../../shared/config/config.js';
import type { WorkerAdapters } from './createWorkerDeps.js';
import type { Logger } from '../../shared/log/logger.js';
import { newTrace, traceFromHeaders, traceLogFields } from '../../shared/log/traceContext.js';
import { receiptFrom } from '../../shared/queue/messageReceipt.js';
import type { DeliveryOutcome } from '../../shared/core/processDelivery.js';
import { decodePushEnvelope, InvalidPushError, type TurnDueDelivery } from '../../shared/queue/pushEnvelope.js';
import type { TurnDuePublisher } from '../../shared/queue/turnDue.js';

/**
 * The `worker` entry: one Pub/Sub push request → one processed message. 2xx acknowledges;
 * anything else makes Pub/Sub retry and, after the last attempt, dead-letter.
 */
export function createWorkerHandler(
  config: WorkerConfig,
  log: Logger,
  deps: Promise<WorkerAdapters> = import('./createWorkerDeps.js').then((m) => m.createWorkerDeps(config, log)),
): HttpFunction {
  if (!config.PUSH_AUDIENCE && !config.PUBSUB_EMULATOR_HOST) {
    log.warn(
      { setting: 'PUSH_AUDIENCE' },
      'PUSH_AUDIENCE is not set: the worker accepts push requests WITHOUT checking their OIDC token; anyone who can reach its URL can make it answer. Set PUSH_AUDIENCE to the push subscription audience.',
    );
  }
  const verifyPush = config.PUSH_AUDIENCE
    ? import('./verifyPushToken.js').then((m) => m.createPushTokenVerifier(config.PUSH_AUDIENCE!, config.PUSH_SERVICE_ACCOUNT))
    : undefined;
  // The core pulls in the Markdown parser: keep it off the webhook's start-up path.
  const core = import('../../shared/core/bufferDelivery.js');
  const turnCore = import('../../shared/core/processTurnDue.js');
  const statusCore = import('../../shared/core/recordDeliveryStatus.js');
  // Surface a broken start-up once, in the log, rather than as an unhandled rejection.
  deps.catch((error: unknown) => log.error({ err: error }, 'worker failed to start'));

  return async (req, res) => {
    const pushTrace = traceFromHeaders(req.headers) ?? newTrace();
    const requestLog = log.child(traceLogFields(config.GOOGLE_CLOUD_PROJECT, pushTrace));
    if (req.method !== 'POST') {
      res.status(405).send('Method Not Allowed');
      return;
    }
    if (verifyPush) {
      const problem = await (await verifyPush)(req.headers.authorization);
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
        const { recordDeliveryStatus } = await statusCore;
        await recordDeliveryStatus(delivery.status, { ...(await deps).statuses, log: requestLog });
        res.status(204).end();
      } catch (error) {
        requestLog.error({ err: error, wamid: delivery.status.wamid }, 'status not recorded: Pub/Sub will retry');
        res.status(503).send('retry');
      }
      return;
    }
    if ('due' in delivery) {
      try {
        const { processTurnDue } = await turnCore;
        const adapters = await deps;
        let result = await processTurnDue(delivery.due, attemptOf(delivery), { ...adapters.deliveries, ...adapters.bursts, log: requestLog });
        if (result.outcome === 'dead-letter') result = await deadLetterTurn(delivery, adapters.bursts.turnDeadLetters);
        res.status(result.ack ? 204 : result.outcome === 'busy' ? 429 : 503).send(result.ack ? undefined : result.outcome);
      } catch (error) {
        requestLog.error({ err: error, wamid: delivery.due.wamid }, 'worker error: Pub/Sub will retry');
        res.status(500).send('retry');
      }
      return;
    }
    // From here on every line belongs to the message: it carries the trace of Meta's callback, which
    // the webhook put in the attributes, so Cloud Logging shows the whole path under one trace. The
    // worker opens no span of its own, so its lines name no span.
    const { traceId, sampled } = receiptFrom(delivery.attributes).trace ?? pushTrace;
    const messageLog = log.child(traceLogFields(config.GOOGLE_CLOUD_PROJECT, { traceId, sampled }));
    try {
      const { receiveInbound } = await core;
      const adapters = await deps;
      const result = await receiveInbound(delivery, { ...adapters.deliveries, ...adapters.bursts, log: messageLog });
      res.status(result.ack ? 204 : result.outcome === 'busy' ? 429 : 503).send(result.ack ? undefined : result.outcome);
    } catch (error) {
      messageLog.error({ err: error, wamid: delivery.message.wamid }, 'worker error: Pub/Sub will retry');
      res.status(500).send('retry');
    }
  };
}

function attemptOf(delivery: TurnDueDelivery) {
  return {
    ...(delivery.deliveryAttempt ? { deliveryAttempt: delivery.deliveryAttempt } : {}),
    ...(delivery.attributes.replayId ? { replayId: delivery.attributes.replayId } : {}),
  };
}

/**
 * Where pushes carry no deliveryAttempt (the emulator, which also never dead-letters from an
 * ordered subscription), the worker moves the exhausted turn-due message itself; in production
 * the refusal lets Pub/Sub's dead-letter policy do it.
 */
async function deadLetterTurn(delivery: TurnDueDelivery, deadLetters: TurnDuePublisher | undefined): Promise<DeliveryOutcome> {
  if (delivery.deliveryAttempt !== undefined || !deadLetters) return { ack: false, outcome: 'dead-letter' };
  await deadLetters.publish(delivery.due, { ...delivery.attributes, deadLetteredBy: 'worker' });
  return { ack: true, outcome: 'dead-letter' };
}
