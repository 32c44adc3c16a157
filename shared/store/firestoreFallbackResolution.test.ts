import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * In a fresh Node process: loads google-gax (as the worker's clients do), then requires
 * `google-gax/fallback` three times from @google-cloud/firestore's directory, as Firestore does on
 * each commit, and counts how often Node had to resolve the request again (a resolve hook sees
 * only the requests Node did not answer from its cache).
 */
function resolutionsPerThreeCalls(preResolve: boolean): number {
  const script = `
    import module, { createRequire } from 'node:module';
    import { resolveFirestoreFallbackOnce } from './shared/store/firestoreFallbackResolution.ts';
    const require = createRequire(import.meta.url);
    if (${preResolve}) resolveFirestoreFallbackOnce();
    require('google-gax');
    let resolved = 0;
    module.registerHooks({ resolve: (specifier, context, next) => { if (specifier === 'google-gax/fallback') resolved += 1; return next(specifier, context); } });
    const fromFirestore = createRequire(require.resolve('@google-cloud/firestore'));
    for (let i = 0; i < 3; i++) fromFirestore('google-gax/fallback');
    console.log(resolved);`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  return Number(out.trim());
}

describe('resolveFirestoreFallbackOnce', () => {
  it('makes Firestore’s per-commit require of google-gax/fallback a cache hit; without it each call is resolved again', () => {
    expect(resolutionsPerThreeCalls(false)).toBe(3);
    expect(resolutionsPerThreeCalls(true)).toBe(0);
  });
});
