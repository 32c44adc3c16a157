import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const scripts = readdirSync(path.join(ROOT, 'scripts'))
  .filter((name) => name.endsWith('.sh'))
  .map((name) => path.join('scripts', name));

const shellcheck = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
const hasShellcheck = !shellcheck.error && shellcheck.status === 0;
if (!hasShellcheck) {
  console.warn(
    '\n!!! SKIPPING shellcheck: the `shellcheck` binary is not on PATH. Install it with ' +
      '`apt-get install -y shellcheck` (Debian package; the CI script installs it) to lint scripts/*.sh. !!!\n',
  );
}

describe('shell scripts', () => {
  it('include the gcloud deploy script', () => {
    expect(scripts).toContain(path.join('scripts', 'deploy.sh'));
  });

  it('parse with bash -n', () => {
    for (const script of scripts) {
      const result = spawnSync('bash', ['-n', script], { cwd: ROOT, encoding: 'utf8' });
      expect(result.status, `${script}: ${result.stderr}`).toBe(0);
    }
  });

  it.skipIf(!hasShellcheck)('pass shellcheck', () => {
    const result = spawnSync('shellcheck', scripts, { cwd: ROOT, encoding: 'utf8' });
    expect(result.status, `shellcheck ${scripts.join(' ')}\n${result.stdout}${result.stderr}`).toBe(0);
  });
});
