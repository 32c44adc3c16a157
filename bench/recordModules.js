// Preload (--import) for the benchmark's module census: records every module the process loads,
// CommonJS and ESM alike, and writes the list to $BENCH_MODULES_FILE on SIGUSR2.
// Used only in a separate, untimed start: the hooks themselves cost start-up time.
import { writeFileSync } from 'node:fs';
import module from 'node:module';

const loaded = new Set();
if (typeof module.registerHooks === 'function') {
  module.registerHooks({
    load(url, context, nextLoad) {
      loaded.add(url);
      return nextLoad(url, context);
    },
  });
}

process.on('SIGUSR2', () => {
  const require = module.createRequire(import.meta.url);
  const cjs = Object.keys(require.cache).map((path) => `file://${path}`);
  const all = [...new Set([...loaded, ...cjs])].sort();
  writeFileSync(process.env.BENCH_MODULES_FILE, JSON.stringify({ hooks: typeof module.registerHooks === 'function', modules: all }));
});
