import type { BurstsResult } from './bursts.js';
import { agentWaitPerSecond, costPerMillion, PRICES, totalOf, type CostLine } from './cost.js';
import type { StandInRun } from './standIn.js';
import type { ColdStartRun, ModuleCensus } from './coldStart.js';
import type { EfficiencyResult, FixedRateRun, ServerRun } from './efficiency.js';
import { PRODUCTION_NODE_OPTIONS } from '../local/productionRuntime.js';
import type { PipelineResult, ReplyBreakdown } from './pipeline.js';
import type { Summary } from './stats.js';

export interface BenchResults {
  date: string;
  node: string;
  cpus: number;
  settings: { maxRate: number } & Record<string, number>;
  /** BENCH_FUNCTION_NODE_OPTIONS, when set: what the webhook and the worker ran with. */
  functionNodeOptions?: string;
  efficiency?: EfficiencyResult;
  coldStart?: ColdStartRun[];
  modules?: ModuleCensus;
  pipeline?: PipelineResult;
  bursts?: BurstsResult;
  /** The webhook's saturation against the Pub/Sub stand-in (phase 1). */
  standIn?: StandInRun;
  /** Share of the whole machine's CPU busy during the run (all tenants). */
  machineBusy?: number;
  loadAverage?: number[];
  wallSeconds?: number;
  broken: string[];
}

type Verdict = '✓' | '✗' | 'info' | '';

interface Row {
  section: string;
  metric: string;
  value: string;
  /** The same row's value in the previous run (bench/results.json before this run wrote it). */
  previous?: string;
  floor: string;
  compare: string;
  target: string;
  verdict: Verdict;
}

const ms = (value: number) => (Number.isFinite(value) ? (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)) + ' ms' : 'n/a');
const signedMs = (value: number) => (value < 0 ? `−${ms(-value)}` : `+${ms(value)}`);
const times = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a');
const mib = (value: number) => `${value.toFixed(0)} MiB`;
const check = (ok: boolean): Verdict => (ok ? '✓' : '✗');
/** Issue 17's latency target holds only at its rate: a lower rate the probe settled for does not count. */
const P99_TARGET_RATE = 300;
const P99_TARGET = `≤ 30 ms at ${P99_TARGET_RATE} req/s (issue 17)`;
const meetsP99Target = (rate: number, run: { latency: Summary }) => rate >= P99_TARGET_RATE && run.latency.p99 <= 30;

/** The steps of a first reply (pipeline.ts, ReplyBreakdown), in order; they add up to its total. */
const REPLY_STEPS = [
  ['webhookMs', 'webhook'],
  ['pushMs', 'push'],
  ['startupWaitMs', 'start-up wait'],
  ['firestoreMs', 'Firestore'],
  ['sessionMs', 'agent session'],
  ['agentMs', 'agent'],
  ['replyMs', 'reply sent'],
] as const satisfies readonly (readonly [keyof ReplyBreakdown, string])[];

/** Earlier runs recorded fewer steps: a missing one reads n/a. */
const replySteps = (reply: ReplyBreakdown) => REPLY_STEPS.map(([key]) => ms((reply[key] as number | undefined) ?? NaN)).join(' / ');

/** Phase 1's rows for one webhook against the bare handler in the same interleaved windows. */
function webhookAgainstBare(at: string, rate: number, webhook: FixedRateRun, bare: FixedRateRun): Row[] {
  const cpuRatio = webhook.cpuMsPerRequest / bare.cpuMsPerRequest;
  return [
    { section: '1', metric: `CPU per request ${at}`, value: ms(webhook.cpuMsPerRequest), floor: ms(bare.cpuMsPerRequest), compare: times(cpuRatio), target: '≤ 2.0× bare (issue 17)', verdict: check(cpuRatio <= 2) },
    { section: '1', metric: `latency p50 ${at}`, value: ms(webhook.latency.p50), floor: ms(bare.latency.p50), compare: times(webhook.latency.p50 / bare.latency.p50), target: '', verdict: 'info' },
    { section: '1', metric: `latency p99 ${at}`, value: ms(webhook.latency.p99), floor: ms(bare.latency.p99), compare: times(webhook.latency.p99 / bare.latency.p99), target: P99_TARGET, verdict: check(meetsP99Target(rate, webhook)) },
    { section: '1', metric: `waited for a CPU per request ${at}`, value: ms(webhook.runQueueWaitMsPerRequest), floor: ms(bare.runQueueWaitMsPerRequest), compare: '', target: '', verdict: 'info' },
    { section: '1', metric: `requests > 1 s ${at}`, value: pct(webhook.latency.over1s), floor: pct(bare.latency.over1s), compare: '', target: '< 1% (Meta)', verdict: check(webhook.latency.over1s < 0.01) },
  ];
}

export function buildRows(results: BenchResults): Row[] {
  const rows: Row[] = [];
  const eff = results.efficiency;
  const bare = eff?.servers.find((s) => s.name === 'bare');
  const webhook = eff?.servers.find((s) => s.name === 'webhook');
  if (eff && bare && webhook) {
    rows.push(...webhookAgainstBare(`@ ${eff.rate} req/s`, eff.rate, webhook, bare));
    if (webhook.emulatorCpuMsPerRequest !== undefined) {
      rows.push({ section: '1', metric: 'Pub/Sub emulator CPU per publish', value: ms(webhook.emulatorCpuMsPerRequest), floor: '', compare: '', target: '', verdict: 'info' });
    }
    const pair = eff.standIn;
    const pairBare = pair?.servers.find((s) => s.name === 'bare');
    const pairWebhook = pair?.servers.find((s) => s.name !== 'bare');
    if (pair && pairBare && pairWebhook) {
      rows.push(...webhookAgainstBare(`@ ${pair.rate} req/s, Pub/Sub stand-in`, pair.rate, pairWebhook, pairBare));
      rows.push({ section: '1', metric: 'Pub/Sub stand-in CPU per publish', value: ms(pair.standInCpuMsPerRequest), floor: '', compare: '', target: '', verdict: 'info' });
    }
    rows.push({ section: '1', metric: `saturation, ${webhook.saturation.concurrency} in flight, Pub/Sub emulator`, value: `${webhook.saturation.rps.toFixed(0)} req/s`, floor: `${bare.saturation.rps.toFixed(0)} req/s`, compare: times(webhook.saturation.rps / bare.saturation.rps), target: '', verdict: 'info' });
    const standIn = results.standIn;
    if (standIn) {
      rows.push({ section: '1', metric: `saturation, ${standIn.concurrency} in flight, Pub/Sub stand-in`, value: `${standIn.rps.toFixed(0)} req/s`, floor: `${bare.saturation.rps.toFixed(0)} req/s`, compare: times(standIn.rps / bare.saturation.rps), target: '', verdict: 'info' });
      rows.push({ section: '1', metric: '  CPU per request at that saturation', value: ms(standIn.cpuMsPerRequest), floor: ms(bare.saturation.cpuMsPerRequest), compare: times(standIn.cpuMsPerRequest / bare.saturation.cpuMsPerRequest), target: '', verdict: 'info' });
    }
  }
  const coldBare = results.coldStart?.find((r) => r.name === 'bare');
  const coldWebhook = results.coldStart?.find((r) => r.name === 'webhook');
  if (coldBare && coldWebhook) {
    const ratio = coldWebhook.median / coldBare.median;
    rows.push({ section: '2', metric: `cold start, median of ${coldWebhook.firstOkMs.length}`, value: ms(coldWebhook.median), floor: ms(coldBare.median), compare: times(ratio), target: '≤ 1.5× bare (issue 17)', verdict: check(ratio <= 1.5) });
    rows.push({ section: '2', metric: '  of which spawn → listening', value: ms(coldWebhook.medianListening), floor: ms(coldBare.medianListening), compare: times(coldWebhook.medianListening / coldBare.medianListening), target: '', verdict: 'info' });
  }
  if (results.modules) {
    const m = results.modules;
    rows.push({
      section: '2',
      metric: 'modules loaded by the webhook',
      value: `${m.total} (${m.packages.length} pkgs)`,
      floor: '',
      compare: m.forbiddenLoaded.length ? `loads ${m.forbiddenLoaded.join(', ')}` : 'no firestore/aiplatform',
      target: 'neither loaded',
      verdict: check(m.forbiddenLoaded.length === 0),
    });
  }
  const p = results.pipeline;
  if (p) {
    const b = p.latencyRun;
    const a = p.throughputRun;
    rows.push({ section: '3', metric: `end to end p50 @ ${b.rate}/s`, value: ms(b.latency.p50), floor: ms(p.floor.latency.p50), compare: `+${ms(p.overheadP50)}`, target: '+ ≤ 6 ms (issue 17)', verdict: check(p.overheadP50 <= 6) });
    rows.push({ section: '3', metric: `end to end p99 @ ${b.rate}/s`, value: ms(b.latency.p99), floor: ms(p.floor.latency.p99), compare: `+${ms(p.overheadP99)}`, target: '', verdict: 'info' });
    if (p.firstReply?.cold) {
      const { cold, warm, restart } = p.firstReply;
      const extra = cold.totalMs - warm.totalMs;
      rows.push({ section: '3', metric: 'first reply after a fresh start vs warm (new user each)', value: ms(cold.totalMs), floor: ms(warm.totalMs), compare: `+${ms(extra)}`, target: '≤ warm + 1.0 s (issue 17)', verdict: check(extra <= 1000) });
      rows.push({ section: '3', metric: `  ${REPLY_STEPS.map(([, name]) => name).join(' / ')}`, value: replySteps(cold), floor: replySteps(warm), compare: '', target: '', verdict: 'info' });
      if (restart) {
        const again = restart.cold.totalMs - restart.warm.totalMs;
        rows.push({ section: '3', metric: 'first reply after both functions restart, emulators warm', value: ms(restart.cold.totalMs), floor: ms(restart.warm.totalMs), compare: `+${ms(again)}`, target: '', verdict: 'info' });
        rows.push({ section: '3', metric: '  by step, as above', value: replySteps(restart.cold), floor: replySteps(restart.warm), compare: '', target: '', verdict: 'info' });
      }
    }
    rows.push({ section: '3', metric: 'throughput, sent flat out', value: `${a.throughput.toFixed(1)} msg/s`, floor: `push ≤ ${p.emulatorPushConcurrency} in flight`, compare: '', target: '', verdict: 'info' });
    const agent = Math.max(a.agentCalls / a.messages, b.agentCalls / b.messages);
    const agentMin = Math.min(a.agentCalls / a.messages, b.agentCalls / b.messages);
    rows.push({ section: '3', metric: 'agent calls per message (A, B)', value: `${(a.agentCalls / a.messages).toFixed(2)}, ${(b.agentCalls / b.messages).toFixed(2)}`, floor: '', compare: '', target: '= 1.00', verdict: check(agent === 1 && agentMin === 1) });
    const replies = [a.replies / a.messages, b.replies / b.messages];
    rows.push({ section: '3', metric: 'replies per message (A, B)', value: replies.map((r) => r.toFixed(2)).join(', '), floor: '', compare: '', target: '= 1.00', verdict: check(replies.every((r) => r === 1)) });
    const workerFloor = p.workerFloor?.cpuMsPerMessage;
    rows.push({
      section: '3',
      metric: 'CPU per message: webhook, worker (B); floor: the worker\'s calls alone',
      value: `${ms(b.cpuMsPerMessage.webhook)}, ${ms(b.cpuMsPerMessage.worker)}`,
      floor: workerFloor === undefined ? '' : ms(workerFloor),
      compare: workerFloor === undefined ? '' : signedMs(b.cpuMsPerMessage.worker - workerFloor),
      target: 'worker ≤ 8 ms (issue 17)',
      verdict: check(b.cpuMsPerMessage.worker <= 8),
    });
    const rpcs = Object.entries(b.firestore.rpcs)
      .map(([method, count]) => `${(count / b.messages).toFixed(2)} ${method === 'batchGetDocuments' ? 'get' : method} @ ${ms(b.firestore.p50Ms[method] ?? NaN)}`)
      .join(', ');
    rows.push({ section: '3', metric: 'Firestore RPCs per msg @ p50 each (B)', value: rpcs, floor: '', compare: '', target: '', verdict: 'info' });
    rows.push({ section: '3', metric: 'Firestore RPCs in sequence per msg (A, B)', value: [a, b].map((run) => (run.firestore.sequential / run.messages).toFixed(2)).join(', '), floor: '', compare: '', target: '≤ 3 (issue 17)', verdict: check([a, b].every((run) => run.firestore.sequential / run.messages <= 3)) });
    const fs = [a, b].map((run) => `${(run.firestore.documentsRead / run.messages).toFixed(2)} / ${(run.firestore.documentsWritten / run.messages).toFixed(2)}`);
    rows.push({ section: '3', metric: 'Firestore reads / writes per msg (A, B)', value: fs.join(', '), floor: '', compare: '', target: 'stated', verdict: 'info' });
  }
  if (bare && webhook) {
    rows.push({ section: '4', metric: 'peak RSS at the fixed rate', value: mib(webhook.peakRssFixedMiB), floor: mib(bare.peakRssFixedMiB), compare: times(webhook.peakRssFixedMiB / bare.peakRssFixedMiB), target: '', verdict: 'info' });
    rows.push({ section: '4', metric: 'peak RSS incl. saturation', value: mib(webhook.peakRssMiB), floor: mib(bare.peakRssMiB), compare: '', target: '', verdict: 'info' });
  }
  if (coldBare && coldWebhook) {
    rows.push({ section: '4', metric: 'RSS right after the first 200 (median)', value: mib(median(coldWebhook.peakRssMiB)), floor: mib(median(coldBare.peakRssMiB)), compare: '', target: '', verdict: 'info' });
  }
  if (p) {
    rows.push({ section: '4', metric: 'peak RSS in the pipeline runs A, B: webhook, worker', value: `${mib(p.peakRss.webhook)}, ${mib(p.peakRss.worker)}`, floor: '', compare: '', target: '', verdict: 'info' });
    const c = p.workerAtConcurrency;
    if (c) {
      rows.push({ section: '4', metric: `worker peak RSS, ${c.maxInFlight} deliveries in flight (run C)`, value: mib(c.peakRssAfter), floor: '', compare: `${c.answered}/${c.messages} answered`, target: `≤ 300 MiB at worker_concurrency ${c.concurrency} (issue 17)`, verdict: check(c.peakRssAfter <= 300 && c.maxInFlight >= c.concurrency && c.answered === c.messages) });
    }
  }
  const bursts = results.bursts;
  if (bursts) {
    const { loneOff, loneOn, bursty } = bursts;
    const limit = bursts.windowMs + 150;
    rows.push({ section: '5', metric: `lone message: added latency p50 (window ${bursts.windowMs} ms)`, value: `+${ms(bursts.addedP50)}`, floor: '', compare: `${ms(loneOn.latency.p50)} on vs ${ms(loneOff.latency.p50)} off`, target: `≤ window + 150 ms = ${limit} ms`, verdict: check(bursts.addedP50 <= limit) });
    rows.push({ section: '5', metric: 'lone message: end to end p90, bursts on / off', value: `${ms(loneOn.latency.p90)} / ${ms(loneOff.latency.p90)}`, floor: '', compare: '', target: '', verdict: 'info' });
    rows.push({ section: '5', metric: `agent calls per message, bursty users (${bursty.messages} msgs)`, value: (bursty.agentCalls / bursty.messages).toFixed(2), floor: '1.00 without bursts', compare: '', target: '< 1.00', verdict: check(bursty.agentCalls < bursty.messages) });
    rows.push({ section: '5', metric: 'bursty: lost / twice to the agent / out of order', value: `${bursty.lost} / ${bursty.duplicated} / ${bursty.orderInversions}`, floor: '', compare: `${bursty.replies} replies to ${bursty.agentCalls} turns`, target: '0 / 0 / 0, one reply per turn', verdict: check(!bursty.lost && !bursty.duplicated && !bursty.orderInversions && bursty.replies === bursty.agentCalls) });
    rows.push({ section: '5', metric: "bursty: a burst's last message → reply p50", value: ms(bursty.lastMessageToReply.p50), floor: '', compare: '', target: '', verdict: 'info' });
  }
  for (const cost of costs(results)) {
    const total = totalOf(cost.lines);
    rows.push({ section: '6', metric: `cost per million messages, ${cost.name}`, value: `$${total.busy.toFixed(2)} busy`, floor: '', compare: `$${total.sparse.toFixed(2)} sparse`, target: 'stated', verdict: 'info' });
  }
  const order = ['1', '2', '3', '4', '5', '6'];
  return rows.map((row, i) => ({ row, i })).sort((a, b) => order.indexOf(a.row.section) - order.indexOf(b.row.section) || a.i - b.i).map(({ row }) => row);
}

function pct(share: number): string {
  return `${(share * 100).toFixed(2)}%`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

const HEAD = ['#', 'metric', 'webhook / pipeline', 'previous run', 'floor', 'vs floor', 'target', ''];

function cells(row: Row): string[] {
  return [row.section, row.metric, row.value, row.previous ?? '', row.floor, row.compare, row.target, row.verdict];
}

function firstReplySection(first: PipelineResult['firstReply']): string[] {
  const row = (name: string, reply: ReplyBreakdown) => {
    const w = reply.worker;
    const at = w ? [w.startedMs, w.listeningMs, w.adaptersMs, w.firestoreWarmMs, w.agentWarmMs].map((value) => (Number.isFinite(value) ? `${value > 0 ? '+' : ''}${value.toFixed(0)}` : 'n/a')).join(' / ') : 'n/a';
    return `| ${name} | ${ms(reply.totalMs)} | ${REPLY_STEPS.map(([key]) => ms((reply[key] as number | undefined) ?? NaN)).join(' | ')} | ${ms(reply.firstRpcMs ?? NaN)} | ${at} |`;
  };
  return [
    '### First reply after a start, by step',
    '',
    `| message | total | ${REPLY_STEPS.map(([, name]) => name).join(' | ')} | its first Firestore RPC | worker started / listening / adapters built / Firestore warm / agent warm, ms from the POST |`,
    `|---|---|${REPLY_STEPS.map(() => '---|').join('')}---|---|`,
    row('first after a fresh start', first.cold),
    row('next new user', first.warm),
    ...(first.restart ? [row('first after both functions restart (emulators warm)', first.restart.cold), row('next new user', first.restart.warm)] : []),
    '',
    'Each message comes from a new user (its first message also creates its agent session). The steps follow one another and add up to the total: webhook = POST → the webhook\'s "inbound message queued"; push = → the push request reaches the worker; start-up wait = → the message\'s first Firestore RPC (the worker still loading its adapters); Firestore = → the agent query starts, without the session\'s creation; agent session = the new user\'s session created (QueryReasoningEngine); agent = the query (agentMs); reply sent = agent answered → Meta (the sandbox) accepted the first chunk. Push arrival and RPCs come from the worker\'s timeline preload (`bench/workerTimeline.js`), the rest from the functions\' log lines. A fresh start meets emulators that have served only the warm-up of `startEmulators` (one publish, one transaction, in a project of their own: an emulator\'s first use of a path takes seconds) and a topic, subscription and project the stack has just made; the restart meets emulators the stack has used, as a new instance meets Pub/Sub and Firestore in production.',
    '',
  ];
}

/** Each row's value in the previous run, matched by section and metric; none when that run's results cannot be read. */
function withPrevious(rows: Row[], previous: BenchResults | undefined): Row[] {
  if (!previous) return rows;
  let before: Map<string, string>;
  try {
    before = new Map(buildRows(previous).map((row) => [`${row.section}|${row.metric}`, row.value]));
  } catch {
    return rows;
  }
  return rows.map((row) => ({ ...row, previous: before.get(`${row.section}|${row.metric}`) ?? '' }));
}

export function textTable(rows: Row[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => [...r[i]!].length)));
  const line = (r: string[]) => r.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join('  ').trimEnd();
  return [line(HEAD), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map((r) => line(cells(r)))].join('\n');
}

function markdownTable(rows: Row[]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
  ].join('\n');
}

export function renderReport(results: BenchResults, previous?: BenchResults): { table: string; markdown: string; svg: string } {
  const rows = withPrevious(buildRows(results), previous);
  const context = `${contextLine(results)}${previous ? `; previous run: ${previous.date}${previous.loadAverage ? `, load average ${previous.loadAverage.map((l) => l.toFixed(1)).join(' ')}` : ''}` : ''}`;
  const table = `${context}\n\n${textTable(rows)}`;
  return { table, markdown: markdown(results, rows, context), svg: latencySvg(results) };
}

function contextLine(results: BenchResults): string {
  const busy = results.machineBusy === undefined ? '' : `, machine ${(results.machineBusy * 100).toFixed(0)}% busy during the run (all tenants)`;
  const load = results.loadAverage ? `, load average ${results.loadAverage.map((l) => l.toFixed(1)).join(' ')}` : '';
  const production = `; every phase runs each function with Terraform's NODE_OPTIONS (webhook ${PRODUCTION_NODE_OPTIONS.webhook}, worker ${PRODUCTION_NODE_OPTIONS.worker}), the bare handler of phases 1 and 2 with the webhook's`;
  const nodeOptions = results.functionNodeOptions ? `; BENCH_FUNCTION_NODE_OPTIONS=${results.functionNodeOptions} after them (a flag's last value wins)` : '';
  return `Node ${results.node}, ${results.cpus} CPUs${busy}${load}, ${results.date}${production}${nodeOptions}`;
}

function markdown(results: BenchResults, rows: Row[], context: string): string {
  const eff = results.efficiency;
  const out: string[] = [];
  out.push('# Benchmark results', '');
  out.push('Written by `npm run bench` (bench/run.ts); method and analysis: [README.md](README.md#benchmarks).', '');
  out.push(`${context}; the run took ${results.wallSeconds?.toFixed(0) ?? '?'} s.`, '');
  if (results.broken.length) out.push('**BROKEN RUN:**', '', ...results.broken.map((b) => `- ${b.split('\n')[0]}`), '');
  out.push(markdownTable(rows), '');
  out.push('✓ target met, ✗ target missed (in this run, on this machine), info: reported, no target.', '');
  out.push('![latency percentiles](latency.svg)', '');
  if (eff) {
    out.push('## 1. Webhook vs the bare functions-framework handler', '');
    const rateNote =
      eff.rateChosen === 'probed'
        ? `The fixed rate was chosen in this run: the highest of ${[...new Set(eff.probe!.tried.map((t) => t.rate))].join(', ')}… req/s at which the webhook, with the emulator on the same cores, completed ≥ 97% of the offered rate with a median under 25 ms in a 3 s trial (two tries per rate; ${eff.probe!.tried.map((t) => `${t.rate}: ${t.achieved.toFixed(0)} req/s, p50 ${ms(t.p50)}`).join('; ')}).${eff.rate < results.settings.maxRate ? ` **${results.settings.maxRate} req/s was not sustainable on this machine in this run.**` : ''}`
        : 'The fixed rate was given (BENCH_RATE).';
    out.push(
      `${rateNote} Each server got ${eff.rounds} windows of ${(eff.windowMs / 1000).toFixed(1)} s at ${eff.rate} req/s, interleaved with the other's, open loop, from ${results.settings.users} senders with unique wamids.`,
      '',
    );
    out.push('| server | requests | 200s | CPU/req | CPU share of a core | waited for a CPU /req | p50 | p90 | p99 | p99.9 | max | generator lag p99 | saturation | CPU/req at saturation |');
    out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const s of eff.servers) out.push(serverRow(s));
    out.push('');
    out.push('Per window (in the order run), p99 / CPU per request / time the main thread waited for a CPU per request (/proc/<pid>/schedstat):', '');
    for (const s of eff.servers) {
      out.push(`- ${s.name}: ${s.windows.map((w) => `${ms(w.p99)} / ${ms(w.cpuMsPerRequest)} / ${ms(w.runQueueWaitMsPerRequest)}`).join('; ')}`);
    }
    out.push('');
    if (eff.standIn) out.push(...standInSection(eff, results.settings.maxRate));
  }
  if (results.coldStart) {
    out.push('## 2. Cold start', '');
    out.push('Spawn of `node …/functions-framework/build/src/main.js --target=… --source=…` → first 200 on a signed POST (the webhook’s includes its first publish), starts alternating between the two.', '');
    out.push('| function | median | each start (ms) | spawn → listening (median) |', '|---|---|---|---|');
    for (const r of results.coldStart) {
      out.push(`| ${r.name} | ${ms(r.median)} | ${r.firstOkMs.map((v) => v.toFixed(0)).join(', ')} | ${ms(r.medianListening)} |`);
    }
    out.push('');
  }
  if (results.modules) {
    const m = results.modules;
    out.push('### Modules the webhook has loaded once it has answered a POST', '');
    out.push(
      `${m.total} module files (plus ${m.builtins} built-ins) from ${m.packages.length} packages, recorded by a preload (\`bench/recordModules.js\`: \`module.registerHooks\` load hook for ESM and CommonJS, plus \`require.cache\`) in a separate, untimed start. @google-cloud/firestore: ${m.packages.some((p) => p.name === '@google-cloud/firestore') ? '**loaded**' : 'not loaded'}; @google-cloud/aiplatform: ${m.packages.some((p) => p.name === '@google-cloud/aiplatform') ? '**loaded**' : 'not loaded'}.`,
      '',
    );
    out.push(`App files: ${m.app.map((a) => `\`${a}\``).join(', ')}.`, '');
    out.push(`Packages (module files each): ${m.packages.map((p) => `${p.name} (${p.modules})`).join(', ')}.`, '');
  }
  const p = results.pipeline;
  if (p) {
    out.push('## 3. Pipeline: webhook → Pub/Sub emulator → worker → local agent → WhatsApp sandbox', '');
    out.push('| run | messages / users | offered | webhook accepted | end to end p50 | p90 | p99 | max | throughput | agent calls | replies | duplicate replies | Firestore RPCs (p50 each) | CPU/msg webhook, worker |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const run of [p.throughputRun, p.latencyRun]) {
      const l = run.latency;
      out.push(
        `| ${run.kind === 'throughput' ? 'A: flat out' : 'B: fixed rate'} | ${run.messages} / ${run.users} | ${run.rate ? `${run.rate}/s` : '16 in flight'} | ${run.accepted} in ${(run.acceptMs / 1000).toFixed(1)} s | ${ms(l.p50)} | ${ms(l.p90)} | ${ms(l.p99)} | ${ms(l.max)} | ${run.throughput.toFixed(1)} msg/s | ${run.agentCalls} | ${run.replies} | ${run.duplicateReplies} | ${Object.entries(run.firestore.rpcs).map(([k, v]) => `${k} ${v} (${ms(run.firestore.p50Ms[k] ?? NaN)})`).join(', ')} | ${ms(run.cpuMsPerMessage.webhook)}, ${ms(run.cpuMsPerMessage.worker)} |`,
      );
    }
    const f = p.floor.latency;
    out.push(`| push floor (alongside B) | ${p.floor.received} / ${p.latencyRun.users} keys | ${p.latencyRun.rate}/s | | ${ms(f.p50)} | ${ms(f.p90)} | ${ms(f.p99)} | ${ms(f.max)} | | | | ${p.floor.duplicates} | | |`, '');
    out.push(
      `The emulator keeps at most ${p.emulatorPushConcurrency} pushes in flight on an ordered subscription (measured in this run with a 100 ms endpoint), so run A's throughput is the emulator's limit divided by the worker's time per message, not the functions' capacity; its end-to-end latencies are queueing in the emulator. Run B's rate is 40% of run A's throughput (5–25/s) unless BENCH_PIPELINE_RATE is set.`,
      '',
    );
    if (p.workerFloor) {
      const floor = p.workerFloor;
      out.push(
        `**The worker's floor.** \`bench/workerFloor.ts\` makes one message's calls through the clients the worker builds (Firestore, the agent's gRPC client, the Graph client) with none of the worker's own code: no functions-framework, no validation, decisions, rendering or logging. In the worker's order and grouping, per message: 2 BatchGetDocuments and 4 Commits with the same documents, the agent's stream query, the read receipt and the reply. It runs bundled as the worker is, under its NODE_OPTIONS, in a process of its own on the same emulators, agent and sandbox, after run B and at its rate (${floor.rate}/s, ${floor.messages} messages after 300 to warm up). **${ms(floor.cpuMsPerMessage)} of CPU per message; the Firestore calls alone ${ms(floor.firestoreCpuMsPerMessage)}**, against the worker's ${ms(p.latencyRun.cpuMsPerMessage.worker)} in run B, whose RPCs per message were ${Object.entries(p.latencyRun.firestore.rpcs).map(([method, count]) => `${(count / p.latencyRun.messages).toFixed(2)} ${method}`).join(', ')} (the floor's: 2 batchGetDocuments, 4 commit). The worker's own code adds ${signedMs(p.latencyRun.cpuMsPerMessage.worker - floor.cpuMsPerMessage)} to its calls; the calls alone cost ${floor.cpuMsPerMessage > 8 ? 'more' : 'no more'} than issue 17's 8 ms, Firestore's alone ${floor.firestoreCpuMsPerMessage > 8 ? 'more' : 'no more'}.`,
        '',
      );
    }
  }
  if (p?.firstReply) out.push(...firstReplySection(p.firstReply));
  if (p) out.push(...firestoreSection(p));
  if (results.bursts) out.push(...burstsSection(results.bursts));
  out.push(...costSection(results));
  out.push('## Settings', '', '```json', JSON.stringify(results.settings, null, 2), '```', '');
  return out.join('\n');
}

interface Costing {
  name: string;
  lines: CostLine[];
}

/** The cost model needs phase 1 (webhook CPU), the stand-in (publish bytes) and phase 5 (the worker per message). */
function costs(results: BenchResults): Costing[] {
  const webhook = results.efficiency?.servers.find((s) => s.name === 'webhook');
  const standIn = results.standIn;
  const bursts = results.bursts;
  if (!webhook || !standIn || !bursts || standIn.publish.messages === 0) return [];
  const inputs = { webhookCpuMs: webhook.cpuMsPerRequest, inboundPublishBytes: standIn.publish.dataBytes / standIn.publish.messages };
  return [
    { name: 'one turn per message (BURST_WINDOW_MS=0)', lines: costPerMillion({ ...inputs, pass: bursts.loneOff, burstsOn: false }) },
    { name: `default bursts (${bursts.windowMs} ms), lone messages`, lines: costPerMillion({ ...inputs, pass: bursts.loneOn, burstsOn: true }) },
  ];
}

function costSection(results: BenchResults): string[] {
  const all = costs(results);
  if (all.length === 0) return [];
  const usd = (value: number) => `$${value < 0.1 ? value.toFixed(3) : value.toFixed(2)}`;
  const wait = agentWaitPerSecond();
  const out = [
    '## 6. Cost per million messages',
    '',
    "From this run's measurements (bench/cost.ts): the webhook's CPU per request at the fixed rate (phase 1), the inbound message's Pub/Sub data volume (the stand-in), and, per lone message of phase 5, the worker's CPU, Firestore documents read and written (the counting preload), agent and Graph calls and the Graph request bodies, for both burst settings. Memory and the worker's concurrency are Terraform's defaults. **Busy**: instances kept near the autoscaler's 60% CPU target, billed vCPU-seconds = CPU ÷ 0.6. **Sparse**: every request alone on its instance, billed Cloud Run's minimum of 100 ms. The free tiers are left out.",
    '',
  ];
  for (const cost of all) {
    const total = totalOf(cost.lines);
    out.push(`### ${cost.name}`, '', '| component | per message (measured) | busy, USD per million | sparse, USD per million |', '|---|---|---|---|');
    for (const line of cost.lines) out.push(`| ${line.component} | ${line.quantity} | ${usd(line.busy)} | ${usd(line.sparse)} |`);
    out.push(`| **total** | | **${usd(total.busy)}** | **${usd(total.sparse)}** |`, '');
  }
  out.push(
    `Not in these totals: **the worker's wait for the agent** (the local agent answers at once): each second of agent answer time per message adds ${usd(wait.busy)} per million when busy (the instance second shared by the worker's ${terraformConcurrencyNote()} concurrent requests) and ${usd(wait.sparse)} when sparse; Agent Engine's own charges and Meta's per-message prices; Meta's status callbacks (sent/delivered/read) for each reply, which pass through the webhook, Pub/Sub and the worker like messages; storage; logging.`,
    '',
    'Prices (USD, Tier 1 region, list price, read 2026-12-05):',
    '',
    ...Object.entries(PRICES).map(([name, price]) => `- \`${name}\`: ${price.usd} — ${price.source}`),
    '',
  );
  return out;
}

function terraformConcurrencyNote(): string {
  const wait = agentWaitPerSecond();
  return String(Math.round(wait.sparse / wait.busy));
}

function burstsSection(b: BurstsResult): string[] {
  const row = (name: string, pass: BurstsResult['loneOn']) =>
    `| ${name} | ${pass.messages} | ${pass.replied} | ${ms(pass.latency.p50)} | ${ms(pass.latency.p90)} | ${ms(pass.latency.p99)} | ${ms(pass.latency.max)} |`;
  const t = b.bursty;
  return [
    '## 5. Bursts (issue 12): the default window on lone messages and on bursty users',
    '',
    `The worker's own defaults: BURST_WINDOW_MS ${b.windowMs}, BURST_MAX_WAIT_MS ${b.maxWaitMs}. Lone messages: ${b.loneRate}/s from 4 returning users in turn (each user's messages 8 s apart at the default rate, far past the window), first with the worker restarted with BURST_WINDOW_MS=0, then with the default; each pass has its own users, whose first message (creating the session) is sent in an uncounted warm-up. The added latency is the difference of the two passes' p50, on the same stack. End to end is the webhook POST start → the sandbox accepting the reply.`,
    '',
    '| pass | messages | replied | p50 | p90 | p99 | max |',
    '|---|---|---|---|---|---|---|',
    row('bursts off', b.loneOff),
    row(`bursts on (${b.windowMs} ms)`, b.loneOn),
    '',
    `Bursty users: ${t.users} users, 3–6 messages each (${t.messages} in all), 100–800 ms apart (seeded), users starting 1.5 s apart. **${t.agentCalls} agent calls for ${t.messages} messages = ${(t.agentCalls / t.messages).toFixed(2)} per message**; ${t.replies} replies. Every message was looked for in the agent's inputs: ${t.lost} in none, ${t.duplicated} in more than one, ${t.orderInversions} out of the user's order. A burst's last message → its reply: p50 ${ms(t.lastMessageToReply.p50)}, p90 ${ms(t.lastMessageToReply.p90)}, max ${ms(t.lastMessageToReply.max)}.`,
    '',
  ];
}

function serverRow(s: ServerRun): string {
  return `${fixedRateCells(s)} ${s.saturation.rps.toFixed(0)} req/s | ${ms(s.saturation.cpuMsPerRequest)} |`;
}

function fixedRateCells(s: FixedRateRun): string {
  const l = s.latency;
  return `| ${s.name} | ${s.requests} | ${s.ok} | ${ms(s.cpuMsPerRequest)} | ${(s.cpuShare * 100).toFixed(0)}% | ${ms(s.runQueueWaitMsPerRequest)} | ${ms(l.p50)} | ${ms(l.p90)} | ${ms(l.p99)} | ${ms(l.p999)} | ${ms(l.max)} | ${ms(s.lagP99)} |`;
}

/** Phase 1's second pair: the bare handler and the webhook publishing to the Pub/Sub stand-in. */
function standInSection(eff: EfficiencyResult, maxRate: number): string[] {
  const pair = eff.standIn!;
  const bare = pair.servers.find((s) => s.name === 'bare');
  const webhook = pair.servers.find((s) => s.name !== 'bare');
  const emulatorWebhook = eff.servers.find((s) => s.name === 'webhook');
  if (!bare || !webhook || !emulatorWebhook) return [];
  const rateNote =
    pair.rateChosen === 'probed'
      ? `Its rate was probed the same way on this webhook (${pair.probe!.tried.map((t) => `${t.rate}: ${t.achieved.toFixed(0)} req/s, p50 ${ms(t.p50)}`).join('; ')})${pair.rate < maxRate ? `: **${maxRate} req/s was not sustainable even against the stand-in in this run.**` : '.'}`
      : 'Its rate was given (BENCH_RATE).';
  const verdict = (name: string, rate: number, run: FixedRateRun, floor: FixedRateRun) =>
    `${name}: ${ms(run.cpuMsPerRequest)} vs ${ms(floor.cpuMsPerRequest)} CPU per request = ${times(run.cpuMsPerRequest / floor.cpuMsPerRequest)} bare (${run.cpuMsPerRequest / floor.cpuMsPerRequest <= 2 ? 'meets' : 'misses'} ≤ 2.0×), p99 ${ms(run.latency.p99)} at ${rate} req/s (${meetsP99Target(rate, run) ? 'meets' : 'misses'} ${P99_TARGET.replace(' (issue 17)', '')})`;
  return [
    '### The same, publishing to a Pub/Sub stand-in: the webhook’s own cost', '',
    `A third process ran the same webhook with \`PUBSUB_EMULATOR_HOST\` pointing at \`bench/pubsubStandIn.js\` (answers \`topics.publish\` as Pub/Sub does, ${ms(pair.standInCpuMsPerRequest)} of its own CPU per publish, against ${emulatorWebhook.emulatorCpuMsPerRequest === undefined ? 'n/a' : ms(emulatorWebhook.emulatorCpuMsPerRequest)} for the emulator's JVM), and took turns with the bare handler in ${eff.rounds} windows of ${(eff.windowMs / 1000).toFixed(1)} s each at ${pair.rate} req/s. ${rateNote}`,
    '',
    '| server | requests | 200s | CPU/req | CPU share of a core | waited for a CPU /req | p50 | p90 | p99 | p99.9 | max | generator lag p99 |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...pair.servers.map(fixedRateCells),
    '',
    ...pair.servers.map((s) => `- per window, ${s.name}: ${s.windows.map((w) => `${ms(w.p99)} / ${ms(w.cpuMsPerRequest)} / ${ms(w.runQueueWaitMsPerRequest)}`).join('; ')}`),
    '',
    `Against the targets: ${verdict('with the emulator', eff.rate, emulatorWebhook, eff.servers.find((s) => s.name === 'bare')!)}; ${verdict('with the stand-in', pair.rate, webhook, bare)}.`,
    '',
  ];
}

// ---------------------------------------------------------------------------------------------
// SVG: latency percentiles on a log scale, one panel per comparison, plus cold start.

const PERCENTILES: { label: string; pick: (s: Summary) => number }[] = [
  { label: 'p50', pick: (s) => s.p50 },
  { label: 'p90', pick: (s) => s.p90 },
  { label: 'p99', pick: (s) => s.p99 },
  { label: 'p99.9', pick: (s) => s.p999 },
  { label: 'max', pick: (s) => s.max },
];

interface Series {
  name: string;
  color: string;
  summary: Summary;
  dashed?: boolean;
}

function latencySvg(results: BenchResults): string {
  const panels: string[] = [];
  const width = 1080;
  const height = 400;
  const panelWidth = 330;
  const eff = results.efficiency;
  if (eff) {
    const series: Series[] = eff.servers.map((s) => ({
      name: s.name === 'bare' ? 'bare handler' : `${s.name}, emulator`,
      color: s.name === 'bare' ? '#888' : '#1a73e8',
      summary: s.latency,
      dashed: s.name === 'bare',
    }));
    const standInWebhook = eff.standIn?.servers.find((s) => s.name !== 'bare');
    if (standInWebhook) series.push({ name: `webhook, stand-in (${eff.standIn!.rate} req/s)`, color: '#e37400', summary: standInWebhook.latency });
    panels.push(percentilePanel(20, `[1] HTTP latency at ${eff.rate} req/s`, series, { value: 30, label: 'p99 target 30 ms' }));
  }
  const p = results.pipeline;
  if (p) {
    const series: Series[] = [
      { name: `pipeline end to end (${p.latencyRun.rate}/s)`, color: '#0b8043', summary: p.latencyRun.latency },
      { name: 'emulator push floor', color: '#888', summary: p.floor.latency, dashed: true },
    ];
    panels.push(percentilePanel(20 + panelWidth + 45, '[3] Pipeline latency', series));
  }
  if (results.coldStart) panels.push(coldStartPanel(20 + 2 * (panelWidth + 45), results.coldStart));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="20" y="22" font-size="15" font-weight="bold">npm run bench — ${esc(results.date.slice(0, 16).replace('T', ' '))} UTC, Node ${esc(results.node)}, ${results.cpus} CPUs${results.machineBusy === undefined ? '' : `, machine ${(results.machineBusy * 100).toFixed(0)}% busy`}</text>`,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  const steps = Math.log10(max / min) > 3 ? [1] : [1, 2, 5];
  for (let exp = Math.floor(Math.log10(min)); exp <= Math.ceil(Math.log10(max)); exp += 1) {
    for (const m of steps) {
      const v = m * 10 ** exp;
      if (v >= min && v <= max) ticks.push(v);
    }
  }
  return ticks;
}

function percentilePanel(x0: number, title: string, series: Series[], line?: { value: number; label: string }): string {
  const top = 74;
  const plotH = 226;
  const plotW = 290;
  const left = x0 + 40;
  const values = series.flatMap((s) => PERCENTILES.map((p) => p.pick(s.summary))).filter((v) => v > 0 && Number.isFinite(v));
  if (line) values.push(line.value);
  const min = 10 ** Math.floor(Math.log10(Math.max(0.01, Math.min(...values))));
  const max = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const y = (v: number) => top + plotH - ((Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * plotH;
  const x = (i: number) => left + 20 + (i * (plotW - 40)) / (PERCENTILES.length - 1);
  const out: string[] = [`<text x="${x0}" y="48" font-size="13" font-weight="bold">${esc(title)}</text>`];
  for (const tick of logTicks(min, max)) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 4}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" fill="#555">${tick >= 1 ? tick : tick.toString()}</text>`);
  }
  out.push(`<text x="${x0}" y="${top - 10}" fill="#555" font-size="11">ms (log scale)</text>`);
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#bbb"/>`);
  PERCENTILES.forEach((p, i) => out.push(`<text x="${x(i).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle" fill="#555">${p.label}</text>`));
  if (line) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(line.value).toFixed(1)}" y2="${y(line.value).toFixed(1)}" stroke="#d93025" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${left + plotW - 4}" y="${(y(line.value) - 4).toFixed(1)}" text-anchor="end" fill="#d93025" font-size="11">${esc(line.label)}</text>`);
  }
  series.forEach((s, si) => {
    const points = PERCENTILES.map((p, i) => `${x(i).toFixed(1)},${y(p.pick(s.summary)).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    PERCENTILES.forEach((p, i) => {
      const v = p.pick(s.summary);
      out.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.name)} ${p.label}: ${v.toFixed(2)} ms</title></circle>`);
    });
    const ly = top + plotH + 36 + si * 16;
    out.push(`<line x1="${left}" x2="${left + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${left + 30}" y="${ly}">${esc(s.name)}: p50 ${ms(s.summary.p50)}, p99 ${ms(s.summary.p99)}</text>`);
  });
  return out.join('\n');
}

function coldStartPanel(x0: number, runs: ColdStartRun[]): string {
  const top = 74;
  const plotH = 226;
  const plotW = 260;
  const left = x0 + 45;
  const bare = runs.find((r) => r.name === 'bare');
  // Room for the target line (1.5× the bare handler's median) even when every start is below it.
  const max = Math.max(...runs.flatMap((r) => r.firstOkMs), (bare?.median ?? 0) * 1.5) * 1.1;
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const out: string[] = [`<text x="${x0}" y="48" font-size="13" font-weight="bold">[2] Cold start: spawn → first 200</text>`];
  const step = max > 2000 ? 500 : max > 1000 ? 250 : 100;
  for (let tick = 0; tick <= max; tick += step) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${left - 4}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" fill="#555">${tick}</text>`);
  }
  out.push(`<text x="${x0}" y="${top - 10}" fill="#555" font-size="11">ms</text>`);
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#bbb"/>`);
  runs.forEach((run, i) => {
    const cx = left + 40 + i * 110;
    const color = run.name === 'bare' ? '#888' : '#1a73e8';
    out.push(`<rect x="${cx}" y="${y(run.median).toFixed(1)}" width="60" height="${(top + plotH - y(run.median)).toFixed(1)}" fill="${color}" opacity="0.75"><title>${run.name} median ${run.median.toFixed(0)} ms</title></rect>`);
    out.push(`<rect x="${cx}" y="${y(run.medianListening).toFixed(1)}" width="60" height="1.5" fill="#000"><title>listening ${run.medianListening.toFixed(0)} ms</title></rect>`);
    for (const v of run.firstOkMs) out.push(`<circle cx="${cx + 30}" cy="${y(v).toFixed(1)}" r="2.5" fill="none" stroke="#000"/>`);
    out.push(`<text x="${cx + 30}" y="${(y(run.median) - 6).toFixed(1)}" text-anchor="middle">${run.median.toFixed(0)} ms</text>`);
    out.push(`<text x="${cx + 30}" y="${top + plotH + 16}" text-anchor="middle" fill="#555">${run.name === 'bare' ? 'bare handler' : run.name}</text>`);
  });
  if (bare) {
    const limit = bare.median * 1.5;
    if (limit < max) {
      out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(limit).toFixed(1)}" y2="${y(limit).toFixed(1)}" stroke="#d93025" stroke-dasharray="4 3"/>`);
      out.push(`<text x="${left + 4}" y="${(y(limit) - 4).toFixed(1)}" fill="#d93025" font-size="11">target 1.5× bare</text>`);
    }
  }
  out.push(`<text x="${left}" y="${top + plotH + 36}" fill="#555">bar: median · circles: each start</text>`);
  out.push(`<text x="${left}" y="${top + plotH + 52}" fill="#555">black line: port listening (median)</text>`);
  return out.join('\n');
}

/** Firestore operations per message: measured, and where each comes from in the worker's code path. */
function firestoreSection(p: PipelineResult): string[] {
  const b = p.latencyRun;
  const per = (n: number) => (n / b.messages).toFixed(2);
  const total = Object.values(b.firestore.rpcs).reduce((x, y) => x + y, 0);
  return [
    '### Firestore operations per message',
    '',
    `Measured in the worker by \`bench/countFirestore.js\`, a preload the bench alone sets (NODE_OPTIONS; inert unless FUNCTION_TARGET=worker and BENCH_FIRESTORE_COUNTS are set) that wraps the Firestore client's request funnel and counts documents in each BatchGetDocuments and writes in each Commit. It also counts the RPCs that start while none of the same request's RPCs is in flight (the request told apart by an AsyncLocalStorage context the preload opens for each, \`bench/requestContext.js\`): the round trips a message waits for one after the other. Run B: **${per(b.firestore.documentsRead)} document reads and ${per(b.firestore.documentsWritten)} document writes per message**, in ${per(total)} RPCs, **${per(b.firestore.sequential)} of them in sequence**${b.firestore.unattributed ? ` (${b.firestore.unattributed} RPCs outside any request)` : ''}. Where they come from (shared/core/ and shared/store/*):`,
    '',
    '| step | reads | writes | round trips in sequence | why |',
    '|---|---|---|---|---|',
    '| **1.** claim `inbound_messages/{wamid}`: `create()`, which fails if the record exists (only a redelivery or a replay runs the transaction) | | 1 | 1 | idempotency: a redelivery must not call the agent again |',
    "| **1.** in the same round trip, the conversation (`readConversationState`): `opt_outs`, `held_replies`, `handoffs`, `whatsapp_sessions`, `rate_limits`, each `{phoneNumberId}:{userId}` | 5 | | (with the claim) | STOP, replies held while the 24-hour window was closed, a person's take-over, the agent session, the per-minute count |",
    '| **2.** after the agent: store the rendered reply, the rate-limit count, the session (touched, or created for a new user), the user\'s 24-hour window (`conversation_windows`), and read `handoffs` again | 1 | 4 | 1 | a retry after a failed send must not ask the agent again; a person who took over while the agent worked gets the conversation |',
    '| **3.** after Graph accepted the chunk: record it sent and the message answered, and the outbound message (`outbound_messages/{wamid}`, for status callbacks), in one Commit | | 2 | 1 | a retry must not resend a chunk |',
    `| **total** | **6** | **7** | **3** | measured: ${per(b.firestore.documentsRead)} / ${per(b.firestore.documentsWritten)}, ${per(b.firestore.sequential)} in sequence |`,
    '',
  ];
}
