import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';

/*
 * terraform/ as data, for the deploy tests: every .tf file parsed with the real HCL parser
 * (@cdktf/hcl2json), and a small evaluator for the expressions this configuration uses, with
 * values from variable defaults or tfvars and stand-ins for what only an apply knows (emails,
 * ids, the project number). No Terraform provider or cloud is needed.
 */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TF_DIR = path.join(ROOT, 'terraform');
/** The project number the stand-ins give data.google_project. */
export const PROJECT_NUMBER = '123456789012';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export type Block = JsonObject;

export interface Terraform {
  resources: Map<string, Map<string, Block>>;
  dataSources: Map<string, Map<string, Block>>;
  locals: JsonObject;
  variables: Map<string, Block>;
  outputs: Map<string, Block>;
  terraformBlocks: Block[];
  /** Every parsed file, for whole-configuration scans. */
  files: Map<string, JsonObject>;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** hcl2json gives each block as an array of bodies; Terraform allows one body per label. */
export function firstBody(value: Json | undefined): Block | undefined {
  if (Array.isArray(value)) return value.find(isObject);
  return isObject(value) ? value : undefined;
}

export function bodies(value: Json | undefined): Block[] {
  if (Array.isArray(value)) return value.filter(isObject);
  return isObject(value) ? [value] : [];
}

export function sub(block: Block | undefined, ...keys: string[]): Block | undefined {
  let current = block;
  for (const key of keys) current = firstBody(current?.[key]);
  return current;
}

export function allStrings(value: Json | undefined, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) allStrings(item, out);
  else if (isObject(value)) for (const item of Object.values(value)) allStrings(item, out);
  return out;
}

export async function loadTerraform(dir = TF_DIR): Promise<Terraform> {
  const tf: Terraform = {
    resources: new Map(),
    dataSources: new Map(),
    locals: {},
    variables: new Map(),
    outputs: new Map(),
    terraformBlocks: [],
    files: new Map(),
  };
  for (const name of readdirSync(dir).filter((file) => file.endsWith('.tf'))) {
    const parsed = (await parse(name, readFileSync(path.join(dir, name), 'utf8'))) as JsonObject;
    tf.files.set(name, parsed);
    for (const [kind, into] of [['resource', tf.resources], ['data', tf.dataSources]] as const) {
      const byType = parsed[kind];
      for (const [type, byName] of Object.entries(isObject(byType) ? byType : {})) {
        const target = into.get(type) ?? new Map<string, Block>();
        for (const [label, body] of Object.entries(isObject(byName) ? byName : {})) {
          const block = firstBody(body);
          if (block) target.set(label, block);
        }
        into.set(type, target);
      }
    }
    for (const localsBody of bodies(parsed.locals)) Object.assign(tf.locals, localsBody);
    for (const [label, body] of Object.entries(isObject(parsed.variable) ? parsed.variable : {})) {
      tf.variables.set(label, firstBody(body) ?? {});
    }
    for (const [label, body] of Object.entries(isObject(parsed.output) ? parsed.output : {})) {
      tf.outputs.set(label, firstBody(body) ?? {});
    }
    tf.terraformBlocks.push(...bodies(parsed.terraform));
  }
  return tf;
}

export async function loadTfvars(file: string): Promise<JsonObject> {
  return (await parse(path.basename(file), readFileSync(file, 'utf8'))) as JsonObject;
}

export function resourcesOf(tf: Terraform, type: string): Map<string, Block> {
  return tf.resources.get(type) ?? new Map();
}

/** Every instance of the resources of a type, evaluated, by address: `label` or `label["key"]` (for_each). */
export function instancesOf(tf: Terraform, evaluator: Evaluator, type: string): Map<string, JsonObject> {
  const out = new Map<string, JsonObject>();
  for (const [label, block] of resourcesOf(tf, type)) {
    for (const [key, body] of evaluator.instances(block)) out.set(key === undefined ? label : `${label}["${key}"]`, body);
  }
  return out;
}

export function resource(tf: Terraform, type: string, name: string): Block {
  const block = resourcesOf(tf, type).get(name);
  if (!block) throw new Error(`terraform/ has no resource ${type}.${name}`);
  return block;
}

/** Variable defaults, with the defaults of optional() object attributes filled in. */
export function variableDefaults(tf: Terraform): Record<string, Json> {
  const defaults: Record<string, Json> = {};
  for (const [name, block] of tf.variables) {
    if (block.default === undefined) continue;
    const optional = [...String(block.type ?? '').matchAll(/([a-z0-9_]+)\s*=\s*optional\(\s*string\s*,\s*"([^"]*)"\s*\)/g)];
    defaults[name] = optional.length > 0 && isObject(block.default)
      ? { ...Object.fromEntries(optional.map((match) => [match[1] ?? '', match[2] ?? ''])), ...block.default }
      : block.default;
  }
  return defaults;
}

// ---------------------------------------------------------------- evaluating expressions

/** A value Terraform only knows at apply time and the stand-ins below do not model. */
export const unknown = (expression: string): string => `<${expression.trim()}>`;

/** Index of the first top-level occurrence of one of `tokens` (outside quotes and brackets). */
function topLevelIndex(text: string, tokens: string | string[], from = 0): number {
  const candidates = typeof tokens === 'string' ? [...tokens] : tokens;
  let depth = 0;
  let quoted = false;
  for (let i = from; i < text.length; i += 1) {
    const char = text[i] ?? '';
    if (char === '"' && text[i - 1] !== '\\') quoted = !quoted;
    if (quoted) continue;
    if ('([{'.includes(char)) depth += 1;
    else if (')]}'.includes(char)) depth -= 1;
    else if (depth === 0 && candidates.some((token) => text.startsWith(token, i))) return i;
  }
  return -1;
}

/** Splits `a, f(b, c), [d]` at its top-level commas. */
function splitArguments(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let comma = topLevelIndex(text, ','); comma !== -1; comma = topLevelIndex(text, ',', start)) {
    parts.push(text.slice(start, comma));
    start = comma + 1;
  }
  const last = text.slice(start);
  if (last.trim() !== '') parts.push(last);
  return parts.map((part) => part.trim());
}

/** `name(args)` when the whole expression is one call, else undefined. */
function asCall(expression: string): { name: string; args: string[] } | undefined {
  const match = /^([a-z_]+)\(([\s\S]*)\)$/.exec(expression);
  if (!match?.[1] || match[2] === undefined) return undefined;
  let depth = 0;
  for (const char of match[2]) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (depth < 0) return undefined;
  }
  return { name: match[1], args: splitArguments(match[2]) };
}

/** What the provider computes on apply, for the attributes the configuration reads. */
function computedAttribute(type: string, body: JsonObject, attribute: string, project: string): Json | undefined {
  if (type === 'google_service_account') {
    const email = `${String(body.account_id)}@${project}.iam.gserviceaccount.com`;
    return { email, member: `serviceAccount:${email}`, id: `projects/${project}/serviceAccounts/${email}`, name: `projects/${project}/serviceAccounts/${email}` }[attribute];
  }
  if (type === 'google_artifact_registry_repository') {
    const id = `projects/${project}/locations/${String(body.location)}/repositories/${String(body.repository_id)}`;
    return { id, name: String(body.repository_id), project }[attribute];
  }
  if (type === 'google_project') return { number: PROJECT_NUMBER }[attribute];
  if (type === 'google_project_iam_custom_role') return { id: `projects/${project}/roles/${String(body.role_id)}` }[attribute];
  if (type === 'google_secret_manager_secret') return { id: `projects/${project}/secrets/${String(body.secret_id)}` }[attribute];
  if (type === 'google_pubsub_topic') return { id: `projects/${project}/topics/${String(body.name)}` }[attribute];
  if (type === 'google_pubsub_subscription') return { id: `projects/${project}/subscriptions/${String(body.name)}` }[attribute];
  return undefined;
}

const REFERENCE = /^(data\.)?(google_[a-z0-9_]+)\.([a-z0-9_]+)(\[0\]|\[\*\]|\["[a-z0-9_]+"\]|\[each\.key\])?((?:\.[a-z0-9_]+(?:\[0\])?)+)$/;

/**
 * Resolves the subset of Terraform expressions this configuration uses: var./local. references,
 * resource and data-source attributes (arguments as configured, computed ones from the stand-ins
 * above, nested and dynamic blocks expanded), conditionals, ==/!=, tostring/toset/merge/keys/
 * setunion/setintersection/jsonencode/length/one, list literals, integer arithmetic and string templates. Anything else resolves to an
 * `<unknown>` marker.
 */
export class Evaluator {
  constructor(
    private readonly tf: Terraform,
    private readonly vars: Readonly<Record<string, Json>>,
    /** Iterators of dynamic blocks being expanded: name -> { key, value }. */
    private readonly scope: Readonly<Record<string, Json>> = {},
  ) {}

  value(value: Json | undefined): Json {
    if (value === undefined) return null;
    if (typeof value === 'string') return this.template(value);
    if (Array.isArray(value)) return value.map((item) => this.value(item));
    if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.value(v)]));
    return value;
  }

  number(value: Json | undefined): number {
    const resolved = this.value(value);
    const result = typeof resolved === 'number' ? resolved : Number(resolved);
    if (!Number.isFinite(result)) throw new Error(`expected a number, got ${JSON.stringify(value)} -> ${JSON.stringify(resolved)}`);
    return result;
  }

  object(value: Json | undefined): JsonObject {
    const resolved = this.value(value);
    if (!isObject(resolved)) throw new Error(`expected an object, got ${JSON.stringify(value)} -> ${JSON.stringify(resolved)}`);
    return resolved;
  }

  /** The instances of a resource block: one without for_each, else one per key, each evaluated with its `each`. */
  instances(block: Block): Map<string | undefined, JsonObject> {
    if (block.for_each === undefined) return new Map([[undefined, this.body(block)]]);
    const each = this.value(block.for_each);
    const entries: [string, Json][] = isObject(each) ? Object.entries(each) : Array.isArray(each) ? each.map((key) => [String(key), key]) : [];
    return new Map(entries.map(([key, value]) => [key, new Evaluator(this.tf, this.vars, { ...this.scope, each: { key, value } }).body(block)]));
  }

  /** A block body as the provider would store it: nested blocks as lists, dynamic blocks expanded. */
  body(block: Block): JsonObject {
    const out: JsonObject = {};
    for (const [key, raw] of Object.entries(block)) {
      if (['count', 'for_each', 'depends_on', 'lifecycle', 'provider', 'dynamic'].includes(key)) continue;
      out[key] = Array.isArray(raw) && raw.length > 0 && raw.every(isObject) ? raw.map((nested) => this.body(nested)) : this.value(raw);
    }
    for (const [name, definitions] of Object.entries(isObject(block.dynamic) ? block.dynamic : {})) {
      const expanded: Json[] = [];
      for (const definition of bodies(definitions)) {
        const each = this.value(definition.for_each);
        const entries: [string, Json][] = isObject(each) ? Object.entries(each) : Array.isArray(each) ? each.map((v, i) => [String(i), v]) : [];
        const content = sub(definition, 'content') ?? {};
        for (const [key, value] of entries) expanded.push(new Evaluator(this.tf, this.vars, { ...this.scope, [name]: { key, value } }).body(content));
      }
      out[name] = [...(Array.isArray(out[name]) ? out[name] : []), ...expanded];
    }
    return out;
  }

  private template(text: string): Json {
    const whole = /^\$\{([\s\S]*)\}$/.exec(text);
    if (whole?.[1] !== undefined && !whole[1].includes('${')) return this.expression(whole[1]);
    return text.replace(/\$\{([^}]*)\}/g, (_, inner: string) => {
      const resolved = this.expression(inner);
      return typeof resolved === 'string' || typeof resolved === 'number' || typeof resolved === 'boolean'
        ? String(resolved)
        : unknown(inner);
    });
  }

  private path(value: Json, segments: string[], expression: string, computed?: (attribute: string) => Json | undefined): Json {
    let current: Json = value;
    for (const segment of segments) {
      const [, name = '', indexed] = /^([a-z0-9_]+)(\[0\])?$/.exec(segment) ?? [];
      let next: Json | undefined = isObject(current) ? current[name] : undefined;
      if (next === undefined && current === value) next = computed?.(name);
      if (next === undefined) return unknown(expression);
      current = indexed && Array.isArray(next) ? (next[0] ?? null) : next;
    }
    return current;
  }

  private reference(match: RegExpExecArray, expression: string): Json {
    const [, data, type = '', label = '', index, rest = ''] = match;
    const block = (data ? this.tf.dataSources : this.tf.resources).get(type)?.get(label);
    if (!block) throw new Error(`terraform/ references undefined ${data ?? ''}${type}.${label}`);
    const instances = block.count === undefined ? 1 : this.number(block.count);
    const project = String(this.vars.project_id);
    const key = index === '[each.key]' ? this.expression('each.key') : /^\["(.*)"\]$/.exec(index ?? '')?.[1];
    const resolve = () => {
      const body = key === undefined ? this.body(block) : this.instances(block).get(String(key));
      if (!body) return unknown(expression);
      return this.path(body, rest.slice(1).split('.'), expression, (attribute) => computedAttribute(type, body, attribute, project));
    };
    if (index === '[*]') return instances === 0 ? [] : [resolve()];
    if (instances === 0) throw new Error(`${expression}: ${type}.${label} has count 0 with these variables`);
    return resolve();
  }

  expression(raw: string): Json {
    const expression = raw.trim();
    if (/^-?\d+(\.\d+)?$/.test(expression)) return Number(expression);
    if (/^"[^"]*"$/.test(expression)) return expression.slice(1, -1);
    if (expression === 'true' || expression === 'false') return expression === 'true';
    if (expression === 'null') return null;
    if (/^\{\s*\}$/.test(expression)) return {};

    const question = topLevelIndex(expression, '?');
    const colon = question === -1 ? -1 : topLevelIndex(expression, ':', question + 1);
    if (question !== -1 && colon !== -1) {
      const condition = this.expression(expression.slice(0, question));
      if (typeof condition !== 'boolean') return unknown(expression);
      return this.expression(condition ? expression.slice(question + 1, colon) : expression.slice(colon + 1));
    }

    const comparison = topLevelIndex(expression, ['==', '!=']);
    if (comparison !== -1) {
      const left = JSON.stringify(this.expression(expression.slice(0, comparison)));
      const right = JSON.stringify(this.expression(expression.slice(comparison + 2)));
      if (left.startsWith('"<') || right.startsWith('"<')) return unknown(expression);
      return expression[comparison] === '=' ? left === right : left !== right;
    }

    const iterator = /^([a-z_]+)\.(key|value)((?:\.[a-z0-9_]+)*)$/.exec(expression);
    if (iterator?.[1] && this.scope[iterator[1]] !== undefined) {
      const entry = this.scope[iterator[1]];
      const segments = [iterator[2] ?? '', ...(iterator[3] ?? '').split('.').filter(Boolean)];
      return this.path(entry ?? null, segments, expression);
    }

    const variable = /^var\.([a-z0-9_]+)((?:\.[a-z0-9_]+)*)$/.exec(expression);
    if (variable?.[1]) {
      const value = this.vars[variable[1]];
      if (value === undefined) return unknown(expression);
      return this.path(this.value(value), (variable[2] ?? '').split('.').filter(Boolean), expression);
    }
    const local = /^local\.([a-z0-9_]+)((?:\.[a-z0-9_]+)*)$/.exec(expression);
    if (local?.[1]) {
      const value = this.tf.locals[local[1]];
      if (value === undefined) throw new Error(`terraform/ references undefined local.${local[1]}`);
      return this.path(this.value(value), (local[2] ?? '').split('.').filter(Boolean), expression);
    }
    const reference = REFERENCE.exec(expression);
    if (reference) return this.reference(reference, expression);

    const call = asCall(expression);
    if (call) {
      const args = () => call.args.map((arg) => this.expression(arg));
      switch (call.name) {
        case 'tostring':
        case 'toset': {
          const [inner] = args();
          return call.name === 'tostring' && (typeof inner === 'number' || typeof inner === 'boolean') ? String(inner) : (inner ?? null);
        }
        case 'merge': {
          const parts = args();
          return parts.every(isObject) ? Object.assign({}, ...parts) : unknown(expression);
        }
        case 'keys': {
          const [inner] = args();
          return isObject(inner) ? Object.keys(inner) : unknown(expression);
        }
        case 'setunion': {
          const parts = args();
          return parts.every(Array.isArray) ? [...new Set(parts.flat().map(String))].sort() : unknown(expression);
        }
        case 'setintersection': {
          const parts = args();
          if (!parts.every(Array.isArray)) return unknown(expression);
          const [first = [], ...rest] = parts as Json[][];
          return [...new Set(first.map(String))].filter((item) => rest.every((part) => part.map(String).includes(item))).sort();
        }
        case 'jsonencode': {
          const [inner] = args();
          const json = JSON.stringify(inner, (_key, value: Json) => (isObject(value) ? sortedKeys(value) : value));
          return json.includes('"<') ? unknown(expression) : json;
        }
        case 'length': {
          const [inner] = args();
          return Array.isArray(inner) ? inner.length : isObject(inner) ? Object.keys(inner).length : unknown(expression);
        }
        case 'one': {
          const [inner] = args();
          return Array.isArray(inner) && inner.length <= 1 ? (inner[0] ?? null) : unknown(expression);
        }
        default:
          return unknown(expression);
      }
    }
    if (expression.startsWith('[') && expression.endsWith(']')) {
      return splitArguments(expression.slice(1, -1)).map((item) => this.expression(item));
    }

    // Integer arithmetic over variables and locals, e.g. `var.worker_timeout_seconds + 30`.
    if (/[+\-*/]/.test(expression) && /^[\w.\s+\-*/()]+$/.test(expression)) {
      const substituted = expression.replace(/\b(var|local)\.[a-z0-9_]+\b/g, (ref) => {
        const resolved = this.expression(ref);
        return typeof resolved === 'number' ? String(resolved) : 'NaN';
      });
      if (/^[\d\s.+\-*/()]+$/.test(substituted)) return Number(new Function(`return (${substituted});`)());
    }
    return unknown(expression);
  }
}

// ---------------------------------------------------------------- the two functions

export type Role = 'webhook' | 'worker';
export const ROLES: readonly Role[] = ['webhook', 'worker'];

export interface FunctionFacts {
  label: string;
  /** The resource block as written. */
  block: Block;
  /** build_config and service_config as the provider stores them (evaluated). */
  build: JsonObject;
  service: JsonObject;
  /** Plain environment. */
  env: JsonObject;
  /** Secret environment variables: key -> Secret Manager secret id. */
  secrets: Map<string, string>;
  /** Label of the google_service_account the function runs as. */
  serviceAccountRef: string;
}

export function functionFor(tf: Terraform, evaluator: Evaluator, role: Role): FunctionFacts {
  const matches = [...resourcesOf(tf, 'google_cloudfunctions2_function')].filter(
    ([, block]) => sub(block, 'build_config')?.entry_point === role,
  );
  if (matches.length !== 1) throw new Error(`expected exactly one google_cloudfunctions2_function with entry_point "${role}", found ${matches.length}`);
  const [label, block] = matches[0] ?? ['', {}];
  const body = evaluator.body(block);
  const build = firstBody(body.build_config) ?? {};
  const service = firstBody(body.service_config);
  if (!service) throw new Error(`google_cloudfunctions2_function.${label} has no service_config`);
  const secrets = new Map<string, string>();
  for (const binding of bodies(service.secret_environment_variables)) secrets.set(String(binding.key), String(binding.secret));
  const email = sub(block, 'service_config')?.service_account_email;
  const serviceAccountRef = /google_service_account\.([a-z0-9_]+)\.email/.exec(String(email))?.[1] ?? '';
  return { label, block, build, service, env: isObject(service.environment_variables) ? service.environment_variables : {}, secrets, serviceAccountRef };
}

/** What `terraform output -json` prints after an apply with these variables. */
export function terraformOutputJson(tf: Terraform, evaluator: Evaluator): JsonObject {
  return Object.fromEntries(
    [...tf.outputs].map(([name, block]) => [name, { sensitive: block.sensitive === true, type: 'dynamic', value: evaluator.value(block.value) }]),
  );
}

/** Terraform's jsonencode writes object keys in lexical order. */
function sortedKeys(value: JsonObject): JsonObject {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
