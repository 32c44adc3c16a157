import { startLocalAgent } from '../test/fakes/localAgent.js';

/** Runs the local Agent Engine fake on its own, for the worker started with `npm start`. */
const port = Number(process.env.LOCAL_AGENT_PORT ?? 8083);
const host = process.env.LOCAL_AGENT_HOST ?? '127.0.0.1';
const agent = await startLocalAgent({ host, port });

console.log(`Local agent listening on ${agent.endpoint}`);
console.log(`  AGENT_ENGINE=${agent.engine}`);
console.log(`  VERTEX_API_ENDPOINT=${agent.endpoint}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void agent.close().then(() => process.exit(0));
  });
}
