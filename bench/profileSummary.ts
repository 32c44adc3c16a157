/**
 * Where a CPU profile's time went: self time by function and by package, the bundle's code
 * mapped back to its sources through the bundle's source maps (undici, zod and pino are inlined
 * into dist/functions/chunks).
 *
 *   npx tsx bench/profileSummary.ts bench/profiles/worker-pipeB.cpuprofile [rows]
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, rowsArg] = process.argv.slice(2);
if (!file) throw new Error('usage: tsx bench/profileSummary.ts <file.cpuprofile> [rows]');
const rows = Number(rowsArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
// The main thread's busy time: shares are of it, idle waiting left out.
const idleIds = new Set(profile.nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id));
const idleUs = [...idleIds].reduce((sum, id) => sum + (selfUs.get(id) ?? 0), 0);
for (const id of idleIds) selfUs.delete(id);
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

const maps = new Map<string, SourceMap | undefined>();
function sourceMapOf(url: string): SourceMap | undefined {
  if (!maps.has(url)) {
    try {
      maps.set(url, new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(url)}.map`, 'utf8'))));
    } catch {
      maps.set(url, undefined);
    }
  }
  return maps.get(url);
}

/** The original file and line (1-based) of a frame: through the source map for the bundle's files. */
function locationOf(frame: ProfileNode['callFrame']): { source: string; line: number } {
  if (frame.url.includes('/dist/functions/')) {
    const entry = sourceMapOf(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber);
    if (entry && 'originalSource' in entry) return { source: entry.originalSource, line: entry.originalLine + 1 };
  }
  return { source: frame.url, line: frame.lineNumber + 1 };
}

function packageOf(frame: ProfileNode['callFrame'], source: string): string {
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : '(native/V8 builtins)';
  if (source.startsWith('node:')) return `node:${source.slice(5).split('/')[0]}`;
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (inModules) return inModules[1]!;
  const app = /\/(shared\/[^/]+|functions\/[^/]+|bench|local)\//.exec(source);
  return app ? `app: ${app[1]}` : source;
}

const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const packageOfNode = new Map(profile.nodes.map((node) => [node.id, packageOf(node.callFrame, locationOf(node.callFrame).source)]));
const isCode = (pkg: string) => !pkg.startsWith('node:') && !pkg.startsWith('(');
/** The nearest package on the stack (the node itself or a caller): whose work Node's internals and V8's builtins did. */
function callerPackage(id: number): string {
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    if (isCode(packageOfNode.get(at)!)) return packageOfNode.get(at)!;
  }
  return packageOfNode.get(id)!;
}

const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
const byCaller = new Map<string, number>();
for (const node of profile.nodes) {
  const us = selfUs.get(node.id);
  if (!us) continue;
  const { source, line } = locationOf(node.callFrame);
  const pkg = packageOfNode.get(node.id)!;
  const caller = callerPackage(node.id);
  byCaller.set(caller, (byCaller.get(caller) ?? 0) + us);
  const where = source ? `${source.replace(/^.*node_modules\//, '').replace(/^.*\/(shared|functions)\//, '$1/')}:${line}` : '';
  const name = `${node.callFrame.functionName || '(anonymous)'} ${where}`.trim();
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
}

const print = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    console.log(`${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  }
};
console.log(`${file}: ${(totalUs / 1000).toFixed(0)} ms busy on the main thread (${(idleUs / 1000).toFixed(0)} ms idle left out)`);
print('self time by package', byPackage);
print("self time by package, Node's internals and V8's builtins charged to the nearest package that called them", byCaller);
print('self time by function', byFunction);
