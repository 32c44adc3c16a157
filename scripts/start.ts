/**
 * `npm start`: the whole bridge on this machine. Emulators, topics and subscriptions, both
 * functions, and local stand-ins for the agent and WhatsApp unless real ones are configured.
 */
import { existsSync } from 'node:fs';
import { bundleFunctions } from '../esbuild.config.mjs';
import { emulatorsUnavailableReason } from '../local/emulators.js';
import { logFormatFrom, printedFunctionLine, type LogFormat } from '../local/logFormat.js';
import { startLocalStack } from '../local/stack.js';

if (existsSync('.env')) process.loadEnvFile('.env');

/** The sandbox's second business number when you bring no AGENT_ENGINE_BY_NUMBER of your own. */
const SECOND_LOCAL_NUMBER = '109876543210987';

const env = {
  ...process.env,
  WEBHOOK_PORT: process.env.WEBHOOK_PORT || '8080',
  WORKER_PORT: process.env.WORKER_PORT || '8081',
  SANDBOX_PORT: process.env.SANDBOX_PORT || '8082',
  LOCAL_AGENT_PORT: process.env.LOCAL_AGENT_PORT || '8083',
  // The local agent reads photos, voice notes and PDFs back from the storage stand-in (README, Media).
  ...(process.env.AGENT_ENGINE ? {} : { AGENT_ACCEPTS_MEDIA: process.env.AGENT_ACCEPTS_MEDIA || 'true' }),
  // With the local agent and no map of your own: a second business number with its own agent and texts, side by side in the sandbox.
  ...(process.env.AGENT_ENGINE || process.env.AGENT_ENGINE_BY_NUMBER
    ? {}
    : {
        AGENT_ENGINE_BY_NUMBER: JSON.stringify({ [SECOND_LOCAL_NUMBER]: 'projects/local-project/locations/europe-west1/reasoningEngines/soporte-es' }),
        TEXTS_BY_NUMBER: process.env.TEXTS_BY_NUMBER || JSON.stringify({ [SECOND_LOCAL_NUMBER]: { WELCOME_TEXT: '¡Hola! Soy el asistente de soporte en español.' } }),
      }),
  // The Cloud Storage stand-in's address, unless a real bucket is named (MEDIA_BUCKET alone).
  ...(process.env.MEDIA_BUCKET && !process.env.STORAGE_EMULATOR_HOST ? {} : { STORAGE_EMULATOR_HOST: process.env.STORAGE_EMULATOR_HOST || '127.0.0.1:8084' }),
};

let logFormat: LogFormat;
try {
  logFormat = logFormatFrom(process.env.LOG_FORMAT);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
// With LOG_FORMAT=json, stdout carries only the functions' JSON lines; everything else goes to stderr.
const note = logFormat === 'json' ? console.error : console.log;

const unavailable = emulatorsUnavailableReason();
if (unavailable) {
  console.error(`Cannot start the local stack: ${unavailable}.`);
  process.exit(1);
}

note('Bundling the functions as a deployment does (esbuild.config.mjs → dist/functions/index.js)…');
await bundleFunctions().catch((error: unknown) => {
  console.error(`Bundling the functions failed: ${(error as Error).message}`);
  process.exit(1);
});
note('Starting the local stack (emulators take a few seconds)…');
const stack = await startLocalStack({
  env,
  // What gcloud functions deploy and Terraform ship: the bundle package.json's main points at.
  compiled: true,
  sandboxStatusWebhooks: true,
  log: note,
  functionLog: (target, line) => {
    const printed = printedFunctionLine(logFormat, target, line);
    (printed.stream === 'stdout' ? process.stdout : process.stderr).write(`${printed.text}\n`);
  },
}).catch((error: unknown) => {
  console.error(`Local stack failed to start: ${(error as Error).message}`);
  process.exit(1);
});

let publicUrl: string | undefined;
let closeTunnel: (() => Promise<void>) | undefined;
if (process.env.NGROK_AUTHTOKEN) {
  const ngrok = await import('@ngrok/ngrok');
  // A refused token or no network must not leave the emulators and functions running behind us.
  const listener = await ngrok.forward({ addr: Number(env.WEBHOOK_PORT), authtoken_from_env: true }).catch(async (error: unknown) => {
    console.error(`ngrok did not start: ${(error as Error).message} (check NGROK_AUTHTOKEN and the network). Stopping the local stack.`);
    await stack.stop();
    process.exit(1);
  });
  publicUrl = `${listener.url()}/webhook`;
  closeTunnel = () => listener.close();
}

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  note('\nStopping…');
  await closeTunnel?.();
  await stack.stop();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

note(`
agent:    ${stack.agent ? `local agent at ${stack.agent.endpoint}` : stack.env.AGENT_ENGINE}${stack.env.AGENT_ENGINE_BY_NUMBER ? ` (per number: ${stack.env.AGENT_ENGINE_BY_NUMBER})` : ''}
media:    ${stack.storage ? `gs://${stack.env.MEDIA_BUCKET} in the Cloud Storage stand-in at ${stack.storage.url}` : `gs://${stack.env.MEDIA_BUCKET}`}
whatsapp: ${stack.sandbox ? `local sandbox at ${stack.sandbox.url} (Graph API stand-in)` : stack.env.GRAPH_API_BASE_URL ?? 'https://graph.facebook.com'}
verify token: ${stack.env.WHATSAPP_VERIFY_TOKEN}${publicUrl ? `\npublic callback URL (paste into Meta's App Dashboard): ${publicUrl}` : ''}${stack.sandboxUrl ? `\nsandbox chat page: ${stack.sandboxUrl}` : ''}
webhook ready: ${stack.webhookUrl}
Try it: npm run simulate -- "Hola"   ·   Ctrl-C stops everything.
`);
