/**
 * `npm run bench`: issue 8's measurements on the local stack, each judged against a floor taken
 * in the same run (a bare functions-framework handler; the Pub/Sub emulator's own push latency).
 * Builds and benches the compiled dist/ with NODE_ENV=production. Prints a table and writes
 * bench/results.md, bench/latency.svg and bench/results.json (committed: the next run's "previous run" column);
 * BENCH_NO_WRITE=1 writes none of them.
 * Exits non-zero only when the run itself is broken; missed targets are marked ✗.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { PubSub } from '@google-cloud/pubsub';
import { emulatorsUnavailableReason, startEmulators } from '../local/emulators.js';
import { freePort } from '../local/freePort.js';
import { signedBodies, type SignedBody } from './bodies.js';
import { measureColdStarts, moduleCensus, type FunctionSpec } from './coldStart.js';
import { measureEfficiency } from './efficiency.js';
import { firstPost, root, spawnFf } from './ffProcess.js';
import { measureBursts } from './bursts.js';
import { measurePipeline } from './pipeline.js';
import { saturateAgainstStandIn, startPubSubStandIn } from './standIn.js';
import { emulatorJvmPid, machineTicks } from './procStats.js';
import { renderReport, type BenchResults } from './report.js';
import { PRODUCTION_NODE_OPTIONS, withProductionNodeOptions } from '../local/productionRuntime.js';

const num = (name: string, fallback: number) => Number(process.env[name]) || fallback;
const settings = {
  /** 0 = the highest of maxRate, 250, 200, … req/s the webhook sustains here (see efficiency.ts). */
  rate: num('BENCH_RATE', 0),
  maxRate: num('BENCH_MAX_RATE', 300),
  seconds: num('BENCH_SECONDS', 20),
  rounds: num('BENCH_ROUNDS', 4),
  saturationSeconds: num('BENCH_SATURATION_SECONDS', 5),
  saturationConcurrency: num('BENCH_SATURATION_CONCURRENCY', 50),
  users: num('BENCH_USERS', 1000),
  starts: num('BENCH_STARTS', 7),
  pipelineMessages: num('BENCH_PIPELINE_MESSAGES', 1000),
  pipelineUsers: num('BENCH_PIPELINE_USERS', 100),
  pipelineRate: num('BENCH_PIPELINE_RATE', 0),
  loneMessages: num('BENCH_LONE_MESSAGES', 16),
  loneRate: num('BENCH_LONE_RATE', 0.5),
  burstyUsers: num('BENCH_BURSTY_USERS', 12),
};
/** NODE_OPTIONS for the webhook and the worker only, e.g. a heap cap to try; the bench and the bare handler keep the default. */
const functionNodeOptions = process.env.BENCH_FUNCTION_NODE_OPTIONS ?? '';
const phases = new Set((process.env.BENCH_PHASES ?? 'efficiency,coldstart,pipeline,bursts').split(','));
const APP_SECRET = 'bench-app-secret';
const log = (line: string) => console.log(line);

async function main(): Promise<number> {
  const unavailable = emulatorsUnavailableReason();
  if (unavailable) {
    console.error(`bench: cannot run: ${unavailable}`);
    return 1;
  }
  if (!process.env.BENCH_SKIP_BUILD) {
    log('building dist/ (npm run build)…');
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }

  const projectId = `bench-${randomUUID().slice(0, 8)}`;
  const pubsubHost = `127.0.0.1:${await freePort()}`;
  const firestoreHost = `127.0.0.1:${await freePort()}`;
  log(`starting the emulators (Pub/Sub ${pubsubHost}, Firestore ${firestoreHost})…`);
  const emulators = await startEmulators({ pubsubHost, firestoreHost, projectId, log });
  process.env.PUBSUB_EMULATOR_HOST = pubsubHost;
  process.env.FIRESTORE_EMULATOR_HOST = firestoreHost;
  // This process's own Pub/Sub clients need no metadata probe; the functions keep the default.
  process.env.METADATA_SERVER_DETECTION = 'none';
  const machineBefore = machineTicks();
  const started = Date.now();
  const results: BenchResults = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    settings,
    ...(functionNodeOptions ? { functionNodeOptions } : {}),
    broken: [],
  };
  const cleanups: (() => Promise<void>)[] = [async () => emulators.stop()];

  try {
    const topic = 'bench-webhook';
    const pubsub = new PubSub({ projectId });
    await pubsub.createTopic(topic);
    await pubsub.close();
    const webhookEnv = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      GOOGLE_CLOUD_PROJECT: projectId,
      PUBSUB_EMULATOR_HOST: pubsubHost,
      FIRESTORE_EMULATOR_HOST: '',
      METADATA_SERVER_DETECTION: '',
      WHATSAPP_VERIFY_TOKEN: 'bench-verify-token',
      WHATSAPP_APP_SECRET: APP_SECRET,
      PUBSUB_TOPIC: topic,
      NODE_OPTIONS: withProductionNodeOptions('webhook', functionNodeOptions || undefined),
    };
    const webhookSpec: FunctionSpec = { name: 'webhook', target: 'webhook', source: 'dist/functions/index.js', env: webhookEnv };
    const bareSpec: FunctionSpec = {
      name: 'bare',
      target: 'bare',
      source: 'bench/bareHandler.js',
      // The same runtime as the webhook (Terraform's heap cap), so the ratio is the code's alone.
      env: { NODE_ENV: 'production', GOOGLE_CLOUD_PROJECT: projectId, METADATA_SERVER_DETECTION: '', NODE_OPTIONS: PRODUCTION_NODE_OPTIONS.webhook },
    };

    let tag = 0;
    const bodyStream = function* (): Generator<SignedBody> {
      while (true) yield* signedBodies(5000, { users: settings.users, appSecret: APP_SECRET, tag: `load${tag++}` });
    };

    const profDir = `${root}bench/profiles`;
    if (process.env.BENCH_CPU_PROF) mkdirSync(profDir, { recursive: true });

    if (phases.has('efficiency')) {
      const rateText = settings.rate ? `${settings.rate} req/s` : `a fixed rate chosen by a probe (≤ ${settings.maxRate} req/s)`;
      log(`\n[1] webhook vs bare handler: ${rateText}, ${settings.seconds} s each in ${settings.rounds} interleaved rounds`);
      const bodies = bodyStream();
      // The same webhook publishing to a Pub/Sub stand-in that costs (almost) nothing: its own cost.
      const standIn = await startPubSubStandIn();
      cleanups.push(() => standIn.stop());
      const standInSpec: FunctionSpec = { ...webhookSpec, name: 'webhook-standin', env: { ...webhookSpec.env, PUBSUB_EMULATOR_HOST: standIn.host } };
      const servers = [];
      for (const spec of [bareSpec, webhookSpec, standInSpec]) {
        const fn = spawnFf({
          target: spec.target,
          source: spec.source,
          port: await freePort(),
          env: spec.env,
          nodeArgs: process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${spec.name}.cpuprofile`] : [],
        });
        cleanups.push(() => fn.stop());
        const { status } = await firstPost(fn, bodies.next().value as SignedBody);
        if (status !== 200) throw new Error(`${spec.name}: first POST answered ${status}:\n${fn.recentOutput()}`);
        servers.push({ name: spec.name, fn });
      }
      const standInWebhook = servers.pop()!;
      const jvm = emulatorJvmPid(Number(pubsubHost.split(':')[1]));
      results.efficiency = await measureEfficiency(servers, bodies, {
        rate: settings.rate,
        maxRate: settings.maxRate,
        durationMs: settings.seconds * 1000,
        rounds: settings.rounds,
        warmupRequests: 300,
        saturationMs: settings.saturationSeconds * 1000,
        saturationConcurrency: settings.saturationConcurrency,
        ...(jvm ? { emulatorPid: jvm } : {}),
        standIn: { fn: standInWebhook.fn, standInPid: standIn.pid },
        log,
      });
      for (const server of servers) await server.fn.stop();
      results.standIn = await saturateAgainstStandIn(standInWebhook.fn, standIn, bodies, {
        concurrency: settings.saturationConcurrency,
        durationMs: settings.saturationSeconds * 1000,
        log,
      });
      await standInWebhook.fn.stop();
      await standIn.stop();
      if (results.standIn.publish.refused > 0) results.broken.push(`the Pub/Sub stand-in refused ${results.standIn.publish.refused} publishes`);
      if (process.env.BENCH_CPU_PROF) log(`  CPU profiles in ${profDir}`);
      for (const run of [...results.efficiency.servers, ...(results.efficiency.standIn?.servers ?? [])]) {
        const bad = run.requests - run.ok;
        if (bad > run.requests * 0.01) results.broken.push(`${run.name}: ${bad} of ${run.requests} requests failed (${JSON.stringify(run.statuses)})`);
      }
    }

    if (phases.has('coldstart')) {
      log(`\n[2] cold start: ${settings.starts} starts each, spawn → first 200 on a signed POST`);
      const bodies = bodyStream();
      const next = () => bodies.next().value as SignedBody;
      results.coldStart = await measureColdStarts([bareSpec, webhookSpec], settings.starts, next, log);
      log('  module census of the webhook (separate, untimed start)…');
      results.modules = await moduleCensus(webhookSpec, next());
      if (results.modules.forbiddenLoaded.length > 0) {
        results.broken.push(`the webhook loaded ${results.modules.forbiddenLoaded.join(', ')}`);
      }
    }

    if (phases.has('pipeline')) {
      log(`\n[3] pipeline: ${settings.pipelineMessages} messages from ${settings.pipelineUsers} users per run through the whole stack`);
      results.pipeline = await measurePipeline({
        projectId,
        pubsubHost,
        firestoreHost,
        messages: settings.pipelineMessages,
        users: settings.pipelineUsers,
        rate: settings.pipelineRate,
        appSecret: APP_SECRET,
        nodeOptions: functionNodeOptions,
        ...(process.env.BENCH_CPU_PROF ? { cpuProfileDir: profDir } : {}),
        log,
      });
      for (const run of [results.pipeline.throughputRun, results.pipeline.latencyRun]) {
        const name = run.kind === 'throughput' ? 'pipeline run A' : 'pipeline run B';
        if (run.unanswered > 0) results.broken.push(`${name}: ${run.unanswered} of ${run.messages} messages got no reply`);
        if (run.accepted < run.messages) results.broken.push(`${name}: the webhook accepted ${run.accepted} of ${run.messages}`);
      }
    }

    if (phases.has('bursts')) {
      log(`\n[5] bursts: the worker's default burst window, lone messages and bursty users`);
      results.bursts = await measureBursts({
        projectId,
        pubsubHost,
        firestoreHost,
        appSecret: APP_SECRET,
        loneMessages: settings.loneMessages,
        loneRate: settings.loneRate,
        burstyUsers: settings.burstyUsers,
        nodeOptions: functionNodeOptions,
        log,
      });
      const { loneOff, loneOn, bursty } = results.bursts;
      for (const [name, pass] of [['bursts off', loneOff], ['bursts on', loneOn]] as const) {
        if (pass.replied < pass.messages) results.broken.push(`lone messages, ${name}: ${pass.messages - pass.replied} of ${pass.messages} got no reply`);
      }
      if (bursty.lost || bursty.duplicated || bursty.orderInversions) {
        results.broken.push(`bursty users: ${bursty.lost} messages lost, ${bursty.duplicated} sent to the agent twice, ${bursty.orderInversions} out of order`);
      }
    }
  } catch (error) {
    results.broken.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }

  const machineAfter = machineTicks();
  results.machineBusy = (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total);
  results.wallSeconds = (Date.now() - started) / 1000;
  results.loadAverage = (await import('node:os')).loadavg();

  const resultsFile = `${root}bench/results.json`;
  let previous: BenchResults | undefined;
  try {
    previous = JSON.parse(readFileSync(resultsFile, 'utf8')) as BenchResults;
  } catch {
    previous = undefined;
  }
  const report = renderReport(results, previous);
  mkdirSync(`${root}bench`, { recursive: true });
  if (!process.env.BENCH_NO_WRITE) {
    writeFileSync(resultsFile, JSON.stringify(results, (key, value) => (key === 'latencies' ? undefined : value), 2));
    writeFileSync(`${root}bench/results.md`, report.markdown);
    writeFileSync(`${root}bench/latency.svg`, report.svg);
  }
  console.log(`\n${report.table}`);
  if (results.broken.length > 0) {
    console.error(`\nBROKEN RUN:\n- ${results.broken.join('\n- ')}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
