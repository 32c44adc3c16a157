import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTerraform, openTerraformConsole, warnWithoutTerraform, type TerraformConsole } from './terraformConsole.js';

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
/** The charts as written: title, plot, y_axis, optional period and thresholds, and their series. */
const charts = () => list(tf.locals.dashboard_charts).filter(isObject);
const seriesOf = (chart: Block) => list(chart.series).filter(isObject);

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

/** The label keys a log-based metric declares (and extracts). */
const labelsOf = (label: string) =>
  list(body(logMetrics().get(label)?.metric_descriptor)?.labels)
    .filter(isObject)
    .map((descriptor) => descriptor.key);

/** `metric.type="logging.googleapis.com/user/${google_logging_metric.LABEL.name}"` */
const userMetricReference = (label: string) => `logging.googleapis.com/user/\${google_logging_metric.${label}.name}`;

/** The series (with their charts) that read the log-based metric with this label. */
function chartsOf(label: string): { chart: Block; series: Block }[] {
  return charts().flatMap((chart) =>
    seriesOf(chart)
      .filter((series) => series.metric === `\${google_logging_metric.${label}.name}`)
      .map((series) => ({ chart, series })),
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

  it('builds its widgets from local.dashboard_charts', () => {
    expect(String(tf.locals.dashboard_widgets)).toMatch(/^\$\{\[for chart in local\.dashboard_charts\s*:/);
  });

  it('gives every chart a title, a plot, a y axis and at least one series with a metric or a filter', () => {
    expect(charts().length).toBeGreaterThanOrEqual(6);
    for (const chart of charts()) {
      const title = String(chart.title);
      expect(title.length, JSON.stringify(chart).slice(0, 120)).toBeGreaterThan(5);
      expect(['LINE', 'STACKED_BAR'], title).toContain(chart.plot);
      expect(typeof chart.y_axis, title).toBe('string');
      if (chart.period !== undefined) expect(chart.period, title).toMatch(/^\d+s$/);
      expect(seriesOf(chart).length, title).toBeGreaterThan(0);
      for (const series of seriesOf(chart)) {
        expect(typeof series.legend, title).toBe('string');
        if (series.metric === undefined) expect(String(series.filter), title).toMatch(/metric\.type="[^"]+"/);
        else expect(String(series.metric), title).toMatch(/^\$\{google_logging_metric\.[a-z0-9_]+\.name\}$/);
      }
    }
  });

  it('charts messages in and replies out', () => {
    expect(chartsOf(metricFor('inbound message queued')).length).toBeGreaterThan(0);
    expect(chartsOf(metricFor('reply sent')).length).toBeGreaterThan(0);
  });

  it('charts the reply latency at p50 and p95', () => {
    const reducers = chartsOf(latencyMetric()).map(({ series }) => String(series.reducer));
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
      const grouped = chartsOf(label).some(({ series }) => series.group_by === codeLabel);
      expect(grouped, `a chart of ${label} grouped by ${codeLabel}`).toBe(true);
    }
  });

  it('charts the hand-offs to a person that start, by who asked, and the user messages waiting for staff', () => {
    const label = metricFor('hand-off started');
    expect(body(logMetrics().get(label)?.label_extractors)?.by).toBe('EXTRACT(jsonPayload.by)');
    expect(chartsOf(label).some(({ series }) => series.group_by === 'by')).toBe(true);
    expect(chartsOf(metricFor('message kept for staff: the bot is paused')).length).toBeGreaterThan(0);
  });

  it('lets an operator narrow it to one business number, and compares the numbers side by side', () => {
    // The pinned filter is a toolbar choice over the label: every metric of a message's path carries it.
    const json = String([...resourcesOf('google_monitoring_dashboard').values()][0]?.dashboard_json);
    expect(json).toMatch(/dashboardFilters\s*=\s*\[\{\s*labelKey\s*=\s*"phone_number_id",\s*filterType\s*=\s*"METRIC_LABEL"\s*\}\]/);
    for (const label of [metricFor('inbound message queued'), metricFor('reply sent'), latencyMetric()]) {
      expect(labelsOf(label), label).toContain('phone_number_id');
    }
    expect(chartsOf(metricFor('reply sent')).some(({ series }) => series.group_by === 'phone_number_id')).toBe(true);
    const latencyByNumber = chartsOf(latencyMetric()).filter(({ series }) => series.group_by === 'phone_number_id');
    expect(latencyByNumber.map(({ series }) => series.reducer)).toEqual(['REDUCE_PERCENTILE_95']);
  });

  it('charts the dead-letter backlog and webhook signature failures', () => {
    const filters = charts().flatMap((chart) => seriesOf(chart).map((series) => String(series.filter)));
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
    const referencing = [...resourcesOf('google_monitoring_alert_policy').values(), ...charts()];
    // Charts and alerts described as data name their metric in a `metric` field; their one
    // resource (or widget expression) reads it as each.value.metric.
    const logMetricAlerts = Object.values(isObject(tf.locals.log_metric_alerts) ? tf.locals.log_metric_alerts : {}).filter(isObject);
    const references = [
      ...referencing
        .flatMap((block) => allStrings(block))
        .flatMap((text) => [...text.matchAll(/logging\.googleapis\.com\/user\/([^"\\\s]+)/g)].map((m) => m[1] ?? ''))
        .filter((reference) => reference !== '${each.value.metric}'),
      ...[...charts().flatMap(seriesOf), ...logMetricAlerts].flatMap((item) => (item.metric === undefined ? [] : [String(item.metric)])),
    ];
    expect(logMetricAlerts.length).toBeGreaterThan(0);
    expect(references.length).toBeGreaterThan(5);
    for (const reference of references) {
      const label = /^\$\{google_logging_metric\.([a-z0-9_]+)\.name\}$/.exec(reference)?.[1];
      if (label) expect(defined.has(label), `google_logging_metric.${label}`).toBe(true);
      else expect(names.has(reference), `a google_logging_metric named ${reference}`).toBe(true);
    }
  });

  it('groups and narrows each chart only by labels its metric defines', () => {
    const checked = charts()
      .flatMap(seriesOf)
      .filter((series) => series.metric !== undefined)
      .map((series) => {
        const label = /^\$\{google_logging_metric\.([a-z0-9_]+)\.name\}$/.exec(String(series.metric))?.[1] ?? '';
        const used = [series.group_by, ...[...String(series.where ?? '').matchAll(/metric\.label\.([a-z_]+)/g)].map((m) => m[1])].filter((l) => l !== undefined);
        for (const key of used) expect(labelsOf(label), `${label} has the label ${String(key)}`).toContain(key);
        return used.length;
      });
    expect(checked.reduce((sum, n) => sum + n, 0)).toBeGreaterThan(5);
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

// ---------------------------------------------------------------- the real terraform binary

warnWithoutTerraform('the Terraform rendering of the dashboard widgets');

describe.skipIf(!hasTerraform)('the widgets as Terraform renders them', () => {
  let terraform: TerraformConsole;
  let rendered: Block[];

  // dashboard.tf's locals alone, each reference to a resource, variable or other local replaced by
  // its own text ("${google_logging_metric.x.name}"), so the rendered JSON can be compared with the
  // charts as hcl2json reads them. No provider is needed.
  beforeAll(() => {
    const source = readFileSync(path.join(TF_DIR, 'dashboard.tf'), 'utf8');
    const locals = source.slice(source.indexOf('\nlocals {'), source.indexOf('\nresource "google_monitoring_dashboard"'));
    const stubbed = locals.replace(
      /\b(?:google_[a-z0-9_]+\.[a-z0-9_]+(?:\["[a-z0-9_]+"\])?\.[a-z0-9_]+|var\.[a-z0-9_]+|local\.push_queues[a-z0-9_.]*)/g,
      (reference) => `"$\${${reference.replaceAll('"', '\\"')}}"`,
    );
    terraform = openTerraformConsole([{ name: 'dashboard.tf', contents: stubbed }]);
    const { value, error } = terraform.evaluateWithoutVars('local.dashboard_widgets');
    expect(error).toBeUndefined();
    rendered = value as Block[];
  });

  afterAll(() => terraform?.close());

  const unescaped = (text: Json | undefined) => String(text).replaceAll('$${', '${');

  it('gives every chart one widget, in order, with every series as a data set', () => {
    expect(rendered).toHaveLength(charts().length);
    charts().forEach((chart, index) => {
      const widget = rendered[index] ?? {};
      expect(widget.title).toBe(chart.title);
      const xyChart = body(widget.xyChart);
      expect(body(xyChart?.yAxis)).toEqual({ label: chart.y_axis, scale: 'LINEAR' });
      expect(xyChart?.thresholds).toEqual(chart.thresholds);
      const dataSets = list(xyChart?.dataSets).filter(isObject);
      expect(dataSets).toHaveLength(seriesOf(chart).length);
      seriesOf(chart).forEach((series, at) => {
        const dataSet = dataSets[at] ?? {};
        expect(dataSet.plotType).toBe(chart.plot);
        expect(dataSet.legendTemplate).toBe(unescaped(series.legend));
        const filter = body(body(dataSet.timeSeriesQuery)?.timeSeriesFilter);
        const expectedFilter =
          series.metric === undefined
            ? series.filter
            : `metric.type="logging.googleapis.com/user/${String(series.metric)}" AND resource.type="cloud_run_revision"${series.where === undefined ? '' : ` AND ${String(series.where)}`}`;
        expect(filter?.filter, String(chart.title)).toBe(expectedFilter);
        expect(filter?.aggregation, String(chart.title)).toEqual({
          alignmentPeriod: chart.period ?? '60s',
          perSeriesAligner: series.aligner ?? 'ALIGN_DELTA',
          crossSeriesReducer: series.reducer ?? 'REDUCE_SUM',
          ...(series.group_by === undefined ? {} : { groupByFields: [`metric.label.${String(series.group_by)}`] }),
        });
      });
    });
  });
});
