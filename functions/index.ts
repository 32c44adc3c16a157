import { http, type HttpFunction } from '@google-cloud/functions-framework';
import { loadConfig, webhookConfigSchema, workerConfigSchema } from '../shared/config/config.js';
import { createLogger } from '../shared/log/logger.js';
import { answerFailuresPlainly } from './answerFailuresPlainly.js';
import { lazy } from './lazy.js';
import { installRequestGuard } from './requestGuard.js';
import { MAX_WEBHOOK_BYTES } from './webhook/webhook.js';

type FunctionName = 'webhook' | 'worker';

/**
 * One package, two functions, each with its own composition root, imported only where that
 * function runs: a webhook instance never loads the worker's Firestore and aiplatform code.
 * The settings are validated before the root loads; a bad one is an error naming it.
 */
async function build(name: FunctionName): Promise<HttpFunction> {
  if (name === 'webhook') {
    const config = loadConfig(webhookConfigSchema);
    return (await import('./webhook/composeWebhook.js')).composeWebhook(config);
  }
  const config = loadConfig(workerConfigSchema);
  return (await import('./worker/composeWorker.js')).composeWorker(config);
}

/** A handler that builds its function on the first request, so an instance needs only that function's settings. */
function onFirstRequest(name: FunctionName): HttpFunction {
  const handler = lazy(() => build(name));
  return answerFailuresPlainly(async (req, res) => (await handler())(req, res), createLogger('functions'));
}

/**
 * Cloud Functions names the deployed function in FUNCTION_TARGET: only it is built, at start, so a
 * missing setting stops the instance with a message naming it. Without a known target both are
 * registered and each is built on its first request.
 */
const target = process.env.FUNCTION_TARGET ?? /--target[= ](\S+)/.exec(process.argv.join(' '))?.[1];

if (target === 'webhook') {
  // Only the webhook is public: its bodies are capped before the framework reads them.
  installRequestGuard({ log: createLogger('webhook'), maxBodyBytes: MAX_WEBHOOK_BYTES });
  http('webhook', await build('webhook'));
} else if (target === 'worker') {
  installRequestGuard({ log: createLogger('worker') });
  http('worker', await build('worker'));
} else {
  installRequestGuard({ log: createLogger('functions') });
  http('webhook', onFirstRequest('webhook'));
  http('worker', onFirstRequest('worker'));
}
