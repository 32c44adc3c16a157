import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { TF_DIR } from './terraformConfig.js';

const version = spawnSync('terraform', ['version'], { encoding: 'utf8', timeout: 30_000 });

/** Whether the real `terraform` binary runs here; suites that need it skip with `skipReason` printed. */
export const hasTerraform = !version.error && version.status === 0;

export function warnWithoutTerraform(what: string): void {
  if (!hasTerraform) console.warn(`\n!!! SKIPPING ${what}: \`terraform\` is not on PATH. !!!\n`);
}

export interface TerraformConsole {
  /** Evaluates `expression` with these variables; `error` is Terraform's message (whitespace folded). */
  evaluate(vars: Record<string, unknown>, expression: string): { value?: unknown; error?: string };
  /** Evaluates `expression` with the files alone (no variables file). */
  evaluateWithoutVars(expression: string): { value?: unknown; error?: string };
  close(): void;
}

/**
 * `terraform console` over a temporary directory holding `files` (copied from `from`, or written
 * from `contents`), initialised without providers. `baseVars` go into every variables file.
 */
export function openTerraformConsole(
  files: { from?: string; name: string; contents?: string }[],
  baseVars: Record<string, unknown> = {},
): TerraformConsole {
  const dir = mkdtempSync(path.join(tmpdir(), 'tf-console-'));
  for (const file of files) {
    if (file.contents !== undefined) writeFileSync(path.join(dir, file.name), file.contents);
    else copyFileSync(path.join(file.from!, file.name), path.join(dir, file.name));
  }
  const init = spawnSync('terraform', ['init', '-input=false', '-no-color'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  expect(init.status, init.stderr).toBe(0);

  function run(args: string[], expression: string) {
    const answer = spawnSync('terraform', ['console', '-no-color', ...args], {
      cwd: dir,
      input: `jsonencode(${expression})\n`,
      encoding: 'utf8',
      timeout: 60_000,
    });
    // Console reports invalid variables on stderr and still exits 0.
    if (answer.status !== 0 || answer.stderr.includes('Error:')) return { error: answer.stderr.replace(/[│╷╵]/g, ' ').replace(/\s+/g, ' ') };
    return { value: JSON.parse(JSON.parse(answer.stdout.trim().split('\n').at(-1) ?? '') as string) as unknown };
  }

  return {
    evaluate(vars, expression) {
      const file = path.join(dir, `vars-${Math.random().toString(36).slice(2)}.tfvars.json`);
      writeFileSync(file, JSON.stringify({ ...baseVars, ...vars }));
      return run([`-var-file=${file}`], expression);
    },
    evaluateWithoutVars: (expression) => run([], expression),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * For a describe block: `terraform console` over these files of terraform/, opened before its
 * tests and removed after them; returns its `evaluate`.
 */
export function useTerraformFiles(names: string[], baseVars: Record<string, unknown>): TerraformConsole['evaluate'] {
  let terraform: TerraformConsole | undefined;
  beforeAll(() => {
    terraform = openTerraformConsole(names.map((name) => ({ from: TF_DIR, name })), baseVars);
  });
  afterAll(() => terraform?.close());
  return (vars, expression) => terraform!.evaluate(vars, expression);
}
