import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../', import.meta.url));
const script = join(root, 'scripts/checkNodeVersion.cjs');
const LINE = /^This project needs Node\.js >=22\.19 but found v20\.\d+\.\d+\. Get it with `nvm install 22`, or run once without installing: `npx -y -p node@22 -- npm start`\.$/;

/** A Node older than 22 on this machine (the system's), if there is one. */
function oldNode(): string | undefined {
  const candidates = spawnSync('which', ['-a', 'node'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  return candidates.find((path) => {
    const version = spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim();
    return /^v(1\d|2[01])\./.test(version);
  });
}

/** Node 22 pretending to be 20.11.1, for machines without an old Node. */
function pretendingNode20(): string[] {
  const preload = join(mkdtempSync(join(tmpdir(), 'node20-')), 'pretend.cjs');
  writeFileSync(
    preload,
    "Object.defineProperty(process, 'version', { value: 'v20.11.1' });\n" +
      "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '20.11.1' } });\n",
  );
  return ['--require', preload];
}

describe('the Node version check before npm start, simulate and test', () => {
  it('passes silently on this Node', () => {
    const result = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout + result.stderr).toBe('');
  });

  it('stops Node 20 at once with one line naming the required and the found version', () => {
    const result = spawnSync(process.execPath, [...pretendingNode20(), script], {
      encoding: 'utf8',
      env: { ...process.env, npm_lifecycle_event: 'prestart' },
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr.trimEnd()).toMatch(LINE);
  });

  it('names the command that was run in its hint', () => {
    for (const [event, command] of [
      ['pretest', 'npm test'],
      ['presimulate', 'npm run simulate'],
    ]) {
      const result = spawnSync(process.execPath, [...pretendingNode20(), script], {
        encoding: 'utf8',
        env: { ...process.env, npm_lifecycle_event: event },
      });
      expect(result.stderr).toContain(`npx -y -p node@22 -- ${command}\``);
    }
  });

  const node20 = oldNode();
  it.skipIf(!node20)(`stops the machine's own old Node (${node20 ?? 'none found'}) with that line`, () => {
    const result = spawnSync(node20!, [script], { encoding: 'utf8', env: { ...process.env, npm_lifecycle_event: 'prestart' } });
    expect(result.status).toBe(1);
    expect(result.stderr.trimEnd()).toMatch(LINE);
  });

  const npm20 = node20 && existsSync(join(dirname(node20), 'npm')) ? join(dirname(node20), 'npm') : undefined;
  it.skipIf(!npm20)('stops `npm start` under that Node before anything starts', () => {
    // No Node 22 anywhere on PATH: npm and every script it runs get the old Node.
    const started = Date.now();
    const result = spawnSync(npm20!, ['start'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dirname(node20!)}:/usr/bin:/bin` },
      timeout: 60_000,
    });
    expect(result.status).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.stderr).toMatch(new RegExp(LINE.source.slice(1, -1)));
    expect(result.stdout + result.stderr).not.toMatch(/TypeError|undici|emulator/i);
  });
});
