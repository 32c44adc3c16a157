import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The rooms' import rules, checked on the source text so that a wrong import fails the suite:
 * - nothing outside test/ imports from test/ (test files beside the code may: they are tests);
 * - deployed code (functions/ and shared/, tests excluded) imports only itself and packages,
 *   because the deploy uploads nothing else (.gcloudignore).
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git', 'coverage', 'test-results', 'terraform']);
const DEPLOYED_ROOMS = ['functions', 'shared'];

/** Every module specifier in static imports, re-exports, side-effect imports and import(). */
function importSpecifiers(source: string): string[] {
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\1/gm;
  return [...source.matchAll(pattern)].map((match) => match[2] as string);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) || entry.name.startsWith('.') ? [] : sourceFiles(relative);
    return /\.(ts|js|mjs|cjs)$/.test(entry.name) ? [relative] : [];
  });
}

interface ImportEdge {
  from: string;
  to: string;
}

/** Relative imports of every source file, as repo-relative paths of the file and its target. */
function relativeImports(): ImportEdge[] {
  return sourceFiles('.').flatMap((file) =>
    importSpecifiers(readFileSync(path.join(ROOT, file), 'utf8'))
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => ({ from: path.posix.normalize(file), to: path.posix.join(path.posix.dirname(file), specifier) })),
  );
}

const roomOf = (file: string): string => file.split('/')[0] ?? '';
const isTestFile = (file: string): boolean => /\.test\.ts$/.test(file);

describe('import rules between rooms', () => {
  it('finds every kind of import in a sample', () => {
    const sample = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      "import './side-effect.js';",
      "export { c } from \"./c.js\";",
      "const d = await import('./d.js');",
      "  const e = await import(\n  '../e.js');",
    ].join('\n');
    expect(importSpecifiers(sample)).toEqual(['./a.js', '../b.js', './side-effect.js', './c.js', './d.js', '../e.js']);
  });

  const edges = relativeImports();

  it('scans the whole repository', () => {
    const rooms = new Set(edges.map((edge) => roomOf(edge.from)));
    for (const room of ['functions', 'shared', 'local', 'scripts', 'bench', 'test']) expect(rooms, room).toContain(room);
  });

  it('keeps test/ to itself: nothing outside it but tests imports from it', () => {
    const offending = edges.filter((edge) => roomOf(edge.from) !== 'test' && !isTestFile(edge.from) && roomOf(edge.to) === 'test');
    expect(offending).toEqual([]);
  });

  it('lets deployed code import only deployed code', () => {
    const offending = edges.filter(
      (edge) => DEPLOYED_ROOMS.includes(roomOf(edge.from)) && !isTestFile(edge.from) && !DEPLOYED_ROOMS.includes(roomOf(edge.to)),
    );
    expect(offending).toEqual([]);
  });
});
