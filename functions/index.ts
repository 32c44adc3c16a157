import { http, type HttpFunction } from '@google-cloud/functions-framework';
import { loadConfig, webhookConfigSchema, workerConfigSchema } from '../shared/config/config.js';
import { lazy } from './lazy.js';

type FunctionName = 'webhook' | 'worker';

/**
 * One package, two functions, each with its own composition root, imported only where that
 * function runs: a webhook instance never loads the worker's Firestore and aiplatform code.
 * Validates the function's settings now (a bad one throws, naming it); the root loads on first use.
 */
function prepare(name: FunctionName): () => Promise<HttpFunction> {
  if (name === 'webhook') {
    const config = loadConfig(webhookConfigSchema);
    return lazy(async () => (await import('./webhook/composeWebhook.js')).composeWebhook(config));
  }
  const config = loadConfig(workerConfigSchema);
  return lazy(async () => (await import('./worker/composeWorker.js')).composeWorker(config));
}

/** A handler that waits for the built one. */
const whenBuilt = (build: () => Promise<HttpFunction>): HttpFunction => async (req, res) => (await build())(req, res);

/**
 * Cloud Functions names the deployed function in FUNCTION_TARGET: only it is prepared, at start,
 * so a missing setting stops the instance with a message naming it. Its adapters load while the
 * framework starts listening; a failure there stops the instance too. Without a known target both
 * are registered and each is prepared on its first request, so one function's settings suffice.
 */
const target = process.env.FUNCTION_TARGET ?? /--target[= ](\S+)/.exec(process.argv.join(' '))?.[1];

/** Prepares the deployed function now and starts loading its root; a failure stops the instance. */
function startNow(name: FunctionName): () => Promise<HttpFunction> {
  const build = prepare(name);
  build().catch((error: unknown) => {
    console.error(`${name} failed to start:`, error);
    process.exit(1);
  });
  return build;
}

const handlerBuild = (name: FunctionName) => (target === name ? startNow(name) : lazy(() => prepare(name)()));
if (target !== 'worker') http('webhook', whenBuilt(handlerBuild('webhook')));
if (target !== 'webhook') http('worker', whenBuilt(handlerBuild('worker')));
