/**
 * Bundles functions/index.ts (both functions) into dist/functions/index.js, package.json's
 * `main`: what `gcloud functions deploy` and Terraform ship (gcp-build runs it after the type
 * check), what `npm start` and the bench run. One file for the webhook's whole path instead of
 * ~450 module files resolved and read one by one at cold start (undici, zod and pino are
 * inlined). The worker's lazily imported parts stay separate chunks, loaded on first use, so the
 * webhook still never loads them.
 *
 *   node esbuild.config.mjs      # or: npm run build
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Left to node_modules: @google-cloud/functions-framework, because the bundle must register its functions in
 * the same module instance the framework's CLI reads them from; and the Google clients, which
 * read their proto and JSON files from their own package directories at run time.
 */
export const EXTERNAL = ['@google-cloud/*', '@grpc/*', 'google-auth-library', 'google-gax'];

/**
 * Chunk names carry a content hash, so a rebuild beside a running function leaves its files alone.
 * `overrides` are esbuild options for tests that inspect the bundle (e.g. `{ write: false, metafile: true }`).
 */
export async function bundleFunctions(overrides = {}) {
  return build({
    absWorkingDir: root,
    entryPoints: { index: 'functions/index.ts' },
    outdir: 'dist/functions',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    external: EXTERNAL,
    // The inlined CommonJS packages (undici, pino) call require() for Node's built-ins.
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
    keepNames: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
    ...overrides,
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  rmSync(`${root}dist`, { recursive: true, force: true });
  await bundleFunctions();
}
