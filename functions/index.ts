import { http, type HttpFunction } from '@google-cloud/functions-framework';
import { loadConfig, webhookConfigSchema, workerConfigSchema } from '../shared/config/config.js';
import { lazy } from './lazy.js';

/**
 * One package, two functions, each with its own composition root, imported only where that
 * function runs: a webhook instance never loads the worker's Firestore and aiplatform code. The
 * settings are validated before a root is loaded, so a bad one is reported at once.
 */
const webhook = lazy(async () => {
  const config = loadConfig(webhookConfigSchema);
  return (await import('./webhook/composeWebhook.js')).composeWebhook(config);
});
const worker = lazy(async () => {
  const config = loadConfig(workerConfigSchema);
  return (await import('./worker/composeWorker.js')).composeWorker(config);
});

/**
 * Cloud Functions names the deployed function in FUNCTION_TARGET: only it is built, at start, so
 * a missing setting stops the instance with a message naming it. Without a known target both are
 * registered and each is built on its first request, so one function's settings suffice.
 */
const target = process.env.FUNCTION_TARGET ?? /--target[= ](\S+)/.exec(process.argv.join(' '))?.[1];

/** A handler that waits for the built one (its build runs on the first request). */
const builtOnFirstRequest = (build: () => Promise<HttpFunction>): HttpFunction => async (req, res) => (await build())(req, res);

if (target === 'webhook') http('webhook', await webhook());
else if (target === 'worker') http('worker', await worker());
else {
  http('webhook', builtOnFirstRequest(webhook));
  http('worker', builtOnFirstRequest(worker));
}
