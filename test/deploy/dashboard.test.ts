import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';

/*
 * Invariants of the dashboard, the log-based metrics and the latency alert in terraform/, read
 * with the real HCL parser (@cdktf/hcl2json) as terraform.test.ts does: a chart or alert that names
 * a metric nobody defined, or a metric whose filter matches no line the code writes, would deploy
 * without complaint and stay empty forever.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TF_DIR = path.join(ROOT, 'terraform');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Block = { [key: string]: Json };

const isObject = (value: unknown): value is Block => typeof value === 'object' && value !== null && !Array.isArray(value);
/** hcl2json gives each block as an array of bodies. */
const body = (value: Json | undefined): Block | undefined => (Array.isArray(value) ? value.find(isObject) : isObject(value) ? value : undefined);
const list = (value: Json | undefined): Json[] => (Array.isArray(value) ? value : []);

function allStrings(value: Json | undefined, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) allStrings(item, out);
  else if (isObject(value)) for (const item of Object.values(value)) allStrings(item, out);
  return out;
}

interface Parsed {
  files: Map<string, Block>;
  resources: Map<string, Map<string, Block>>;
  locals: Block;
  variables: Map<string, Block>;
  outputs: Map<string, Block>;
}

let tf: Parsed;

beforeAll(async () => {
  tf = { files: new Map(), resources: new Map(), locals: {}, variables: new Map(), outputs: new Map() };
  for (const name of readdirSync(TF_DIR).filter((file) => file.endsWith('.tf'))) {
    const parsed = (await parse(name, readFileSync(path.join(TF_DIR, name), 'utf8'))) as Block;
    tf.files.set(name, parsed);
    for (const [type, byName] of Object.entries(isObject(parsed.resource) ? parsed.resource : {})) {
      const target = tf.resources.get(type) ?? new Map<string, Block>();
      for (const [label, bodies] of Object.entries(isObject(byName) ? byName : {})) target.set(label, body(bodies) ?? {});
      tf.resources.set(type, target);
    }
    for (const locals of list(parsed.locals)) if (isObject(locals)) Object.assign(tf.locals, locals);
    for (const [label, bodies] of Object.entries(isObject(parsed.variable) ? parsed.variable : {})) tf.variables.set(label, body(bodies) ?? {});
    for (const [label, bodies] of Object.entries(isObject(parsed.output) ? parsed.output : {})) tf.outputs.set(label, body(bodies) ?? {});
  }
});

const resourcesOf = (type: string) => tf.resources.get(type) ?? new Map<string, Block>();
const logMetrics = () => resourcesOf('google_logging_metric');
const widgets = () => list(tf.locals.dashboard_widgets).filter(isObject);
const dataSets = (widget: Block) => list(body(widget.xyChart)?.dataSets).filter(isObject);
const seriesFilter = (dataSet: Block) => body(body(dataSet.timeSeriesQuery)?.timeSeriesFilter);

/** The label of the one log-based metric whose filter selects the log line with this message. */
function metricFor(message: string): string {
  const matches = [...logMetrics()].filter(([, block]) => String(block.filter).includes(`jsonPayload.message="${message}"`));
  expect(matches.map(([label]) => label), `one google_logging_metric counts "${message}" lines`).toHaveLength(1);
  return matches[0]?.[0] ?? '';
}

/** The label of the one log-based metric that measures the reply latency the worker logs. */
function latencyMetric(): string {
  const matches = [...logMetrics()].filter(([, block]) => block.value_extractor === 'EXTRACT(jsonPayload.replyLatencyMs)');
  expect(matches.map(([label]) => label), 'one google_logging_metric extracts replyLatencyMs').toHaveLength(1);
  return matches[0]?.[0] ?? '';
}

/** `metric.type="logging.googleapis.com/user/${google_logging_metric.LABEL.name}"` */
const userMetricReference = (label: string) => `logging.googleapis.com/user/\${google_logging_metric.${label}.name}`;

function chartsOf(label: string): { widget: Block; dataSet: Block; filter: Block }[] {
  return widgets().flatMap((widget) =>
    dataSets(widget).flatMap((dataSet) => {
      const filter = seriesFilter(dataSet);
      return filter && String(filter.filter).includes(userMetricReference(label)) ? [{ widget, dataSet, filter }] : [];
    }),
  );
}

describe('the dashboard', () => {
  it('is one google_monitoring_dashboard laid out from local.dashboard_widgets', () => {
    const dashboards = [...resourcesOf('google_monitoring_dashboard').values()];
    expect(dashboards).toHaveLength(1);
    const json = String(dashboards[0]?.dashboard_json);
    expect(json).toMatch(/^\$\{jsonencode\(/);
    expect(json).toMatch(/displayName\s*=/);
    expect(json).toMatch(/widgets\s*=\s*local\.dashboard_widgets/);
    expect(String(tf.outputs.get('dashboard_url')?.value)).toContain('google_monitoring_dashboard.');
  });

  it('gives every widget a title and at least one data set with a filter and an aggregation', () => {
    expect(widgets().length).toBeGreaterThanOrEqual(6);
    for (const widget of widgets()) {
      expect(typeof widget.title === 'string' && widget.title.length > 5, JSON.stringify(widget).slice(0, 120)).toBe(true);
      expect(dataSets(widget).length, String(widget.title)).toBeGreaterThan(0);
      for (const dataSet of dataSets(widget)) {
        const filter = seriesFilter(dataSet);
        expect(String(filter?.filter), String(widget.title)).toMatch(/metric\.type="[^"]+"/);
        expect(body(filter?.aggregation)?.alignmentPeriod, String(widget.title)).toMatch(/^\d+s$/);
      }
    }
  });

  it('charts messages in and replies out', () => {
    expect(chartsOf(metricFor('inbound message queued')).length).toBeGreaterThan(0);
    expect(chartsOf(metricFor('reply sent')).length).toBeGreaterThan(0);
  });

  it('charts the reply latency at p50 and p95', () => {
    const reducers = chartsOf(latencyMetric()).map(({ filter }) => String(body(filter.aggregation)?.crossSeriesReducer));
    expect(reducers).toEqual(expect.arrayContaining(['REDUCE_PERCENTILE_50', 'REDUCE_PERCENTILE_95']));
  });

  it('charts agent errors by gRPC code and Graph errors by code', () => {
    for (const field of ['grpcCode', 'graphErrorCode']) {
      const labels = [...logMetrics()]
        .filter(([, block]) => String(block.filter).includes(`jsonPayload.${field}:*`))
        .map(([label, block]) => ({ label, extractors: body(block.label_extractors) ?? {} }));
      expect(labels.map((l) => l.label), `one metric counts lines with ${field}`).toHaveLength(1);
      const { label, extractors } = labels[0]!;
      const codeLabel = Object.entries(extractors).find(([, extractor]) => extractor === `EXTRACT(jsonPayload.${field})`)?.[0];
      expect(codeLabel, `${label} extracts ${field} into a label`).toBeDefined();
      const grouped = chartsOf(label).some(({ filter }) => list(body(filter.aggregation)?.groupByFields).includes(`metric.label.${codeLabel}`));
      expect(grouped, `a chart of ${label} grouped by ${codeLabel}`).toBe(true);
    }
  });

  it('charts the hand-offs to a person that start, by who asked, and the user messages waiting for staff', () => {
    const label = metricFor('hand-off started');
    expect(body(logMetrics().get(label)?.label_extractors)?.by).toBe('EXTRACT(jsonPayload.by)');
    expect(chartsOf(label).some(({ filter }) => list(body(filter.aggregation)?.groupByFields).includes('metric.label.by'))).toBe(true);
    expect(chartsOf(metricFor('message kept for staff: the bot is paused')).length).toBeGreaterThan(0);
  });

  it('charts the dead-letter backlog and webhook signature failures', () => {
    const filters = widgets().flatMap((widget) => dataSets(widget).map((dataSet) => String(seriesFilter(dataSet)?.filter)));
    expect(
      filters.some(
        (filter) =>
          filter.includes('pubsub.googleapis.com/subscription/num_undelivered_messages') &&
          filter.includes('${google_pubsub_subscription.dead_letter["inbound"].name}'),
      ),
    ).toBe(true);
    expect(chartsOf(metricFor('webhook signature rejected')).length).toBeGreaterThan(0);
  });
});

describe('log-based metrics', () => {
  it('defines every user metric a chart or an alert names', () => {
    const defined = logMetrics();
    const names = new Set([...defined.values()].map((block) => String(block.name)));
    const referencing = [...resourcesOf('google_monitoring_alert_policy').values(), ...widgets()];
    const references = referencing.flatMap((block) => allStrings(block)).flatMap((text) => [...text.matchAll(/logging\.googleapis\.com\/user\/([^"\\\s]+)/g)].map((m) => m[1] ?? ''));
    expect(references.length).toBeGreaterThan(5);
    for (const reference of references) {
      const label = /^\$\{google_logging_metric\.([a-z0-9_]+)\.name\}$/.exec(reference)?.[1];
      if (label) expect(defined.has(label), `google_logging_metric.${label}`).toBe(true);
      else expect(names.has(reference), `a google_logging_metric named ${reference}`).toBe(true);
    }
  });

  it('makes the reply latency a distribution of replyLatencyMs with exponential buckets from under 1 s past the agent timeout', () => {
    const latency = logMetrics().get(latencyMetric())!;
    const descriptor = body(latency.metric_descriptor);
    expect(descriptor?.metric_kind).toBe('DELTA');
    expect(descriptor?.value_type).toBe('DISTRIBUTION');
    expect(descriptor?.unit).toBe('ms');
    expect(latency.value_extractor).toBe('EXTRACT(jsonPayload.replyLatencyMs)');
    expect(body(latency.label_extractors)?.outcome).toBe('EXTRACT(jsonPayload.outcome)');
    expect(list(descriptor?.labels).filter(isObject).map((l) => l.key)).toEqual(['outcome', 'phone_number_id']);
    const buckets = body(body(latency.bucket_options)?.exponential_buckets);
    const scale = Number(buckets?.scale);
    const growth = Number(buckets?.growth_factor);
    const count = Number(buckets?.num_finite_buckets);
    expect(scale).toBeLessThan(1000);
    expect(growth).toBeGreaterThan(1);
    expect(growth).toBeLessThanOrEqual(1.5);
    const agentTimeoutMs = Number(tf.variables.get('agent_timeout_seconds')?.default ?? 240) * 1000;
    expect(scale * growth ** count).toBeGreaterThan(agentTimeoutMs);
  });

  it('filters only on log lines the code writes', () => {
    const source = ['functions', 'shared']
      .flatMap((dir) => readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).map((file) => path.join(ROOT, dir, file)))
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    for (const [label, block] of logMetrics()) {
      const filter = String(block.filter);
      for (const [, message] of filter.matchAll(/jsonPayload\.message="([^"]+)"/g)) {
        expect(source.includes(`'${message}'`), `${label}: a log line "${message}" in functions/ or shared/`).toBe(true);
      }
      for (const [, field] of filter.matchAll(/jsonPayload\.([A-Za-z]+):\*/g)) {
        expect(new RegExp(`\\b${field}\\b`).test(source), `${label}: a log field ${field} in functions/ or shared/`).toBe(true);
      }
    }
  });
});

describe('the reply latency alert', () => {
  it('fires on the p95 of answered messages above var.reply_latency_p95_threshold_ms', () => {
    const label = latencyMetric();
    const conditions = [...resourcesOf('google_monitoring_alert_policy').values()].flatMap((policy) =>
      list(policy.conditions)
        .filter(isObject)
        .map((condition) => ({ policy, threshold: body(condition.condition_threshold) })),
    );
    const latency = conditions.filter(({ threshold }) => String(threshold?.filter).includes(userMetricReference(label)));
    expect(latency).toHaveLength(1);
    const { policy, threshold } = latency[0]!;
    expect(String(threshold?.filter)).toContain('metric.label.outcome="answered"');
    const aggregation = body(threshold?.aggregations);
    const percentile95 = [aggregation?.per_series_aligner, aggregation?.cross_series_reducer].filter((step) => /PERCENTILE_95$/.test(String(step)));
    expect(percentile95, 'the 95th percentile, by aligner or reducer').toHaveLength(1);
    expect(threshold?.comparison).toBe('COMPARISON_GT');
    expect(threshold?.threshold_value).toBe('${var.reply_latency_p95_threshold_ms}');
    expect(String(policy.notification_channels)).toContain('local.notification_channels');
    const variable = tf.variables.get('reply_latency_p95_threshold_ms');
    expect(variable?.type).toBe('${number}');
    expect(typeof variable?.default).toBe('number');
  });
});
