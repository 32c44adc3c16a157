// EXPERIMENT, not production code: the compiled webhook with a REST publisher instead of
// @google-cloud/pubsub, to measure the fix proposed in bench/README.md ("What limits it").
// Runs only against the Pub/Sub emulator (no credentials). `npm run bench` uses it only when
// BENCH_EXPERIMENTS=rest-publisher. Same handler, config and logger as dist/functions/index.js.
import { http } from '@google-cloud/functions-framework';
import { Pool } from 'undici';
import { loadConfig, webhookConfigSchema } from '../../dist/shared/config/config.js';
import { createLogger } from '../../dist/shared/log/logger.js';
import { createWebhookHandler } from '../../dist/functions/webhook/webhook.js';

const config = loadConfig(webhookConfigSchema);
if (!config.PUBSUB_EMULATOR_HOST) throw new Error('the REST publisher experiment runs against the emulator only');
const log = createLogger('webhook', config.LOG_LEVEL);
const pool = new Pool(`http://${config.PUBSUB_EMULATOR_HOST}`, { connections: 16 });
const path = `/v1/projects/${config.GOOGLE_CLOUD_PROJECT}/topics/${config.PUBSUB_TOPIC}:publish`;
/** Per ordering key, publishes leave in call order (what `messageOrdering: true` gives). */
const tails = new Map();

const publisher = {
  publish(message, attributes) {
    const key = message.userId;
    const previous = tails.get(key) ?? Promise.resolve();
    const result = previous.catch(() => {}).then(async () => {
      const response = await pool.request({
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // One message, so one ordering key, per Publish request.
        body: JSON.stringify({
          messages: [
            {
              data: Buffer.from(JSON.stringify(message)).toString('base64'),
              orderingKey: key,
              attributes: { wamid: message.wamid, userId: message.userId, v: String(message.v), ...attributes },
            },
          ],
        }),
        signal: AbortSignal.timeout(config.PUBLISH_TIMEOUT_MS),
      });
      const json = await response.body.json();
      if (response.statusCode !== 200) throw new Error(`Publish answered ${response.statusCode}: ${JSON.stringify(json)}`);
      return json.messageIds[0];
    });
    tails.set(key, result);
    result.finally(() => tails.get(key) === result && tails.delete(key)).catch(() => {});
    return result;
  },
  close: () => pool.close(),
};

http('webhook', createWebhookHandler(config, { publisher, log }));
