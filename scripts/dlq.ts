/**
 * `npm run dlq -- list` shows what the worker gave up on; `npm run dlq -- replay --all` or
 * `npm run dlq -- replay <wamid>…` sends it back to the inbound topic. Uses GOOGLE_CLOUD_PROJECT,
 * PUBSUB_TOPIC and, locally, PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST. With `--turns`, the same for
 * the turns topic (PUBSUB_TURNS_TOPIC): bursts that failed as one turn.
 */
import { existsSync } from 'node:fs';
import { pubsubLayout } from '../local/pubsubResources.js';
import { describeDeadLetter, listDeadLetters, namedBy, replayDeadLetters } from './dlq/deadLetters.js';
import { LOCAL_DEFAULTS } from '../local/stack.js';

if (existsSync('.env')) process.loadEnvFile('.env');

const turns = process.argv.includes('--turns');
const [command, ...args] = process.argv.slice(2).filter((arg) => arg !== '--turns');
const projectId = process.env.GOOGLE_CLOUD_PROJECT || LOCAL_DEFAULTS.GOOGLE_CLOUD_PROJECT;
const layout = turns
  ? pubsubLayout(process.env.PUBSUB_TURNS_TOPIC || 'whatsapp-turns')
  : pubsubLayout(process.env.PUBSUB_TOPIC || 'whatsapp-inbound');
const options = {
  projectId,
  inboundTopic: layout.topic,
  // DLQ_SUBSCRIPTION names the inbound dead letters' subscription only: never read the wrong queue into the turns topic.
  deadLetterSubscription: (!turns && process.env.DLQ_SUBSCRIPTION) || layout.deadLetterSubscription,
};

if (command === 'list') {
  const letters = await listDeadLetters(options);
  for (const letter of letters) console.log(describeDeadLetter(letter));
  console.log(`${letters.length} dead-lettered message(s) in ${options.deadLetterSubscription}`);
} else if (command === 'replay' && args.length > 0) {
  const all = args.includes('--all');
  const wamids = new Set(args.filter((arg) => arg !== '--all'));
  const replayed = await replayDeadLetters(options, (letter) => all || namedBy(letter, wamids));
  for (const letter of replayed) console.log(`replayed ${describeDeadLetter(letter)}`);
  console.log(`${replayed.length} message(s) re-published to ${options.inboundTopic}`);
} else {
  console.error('usage: npm run dlq -- [--turns] list | replay --all | replay <wamid> [<wamid>…]');
  process.exit(2);
}
