import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bundleFunctions } from '../../esbuild.config.mjs';

/**
 * The files of the deployed bundle a webhook instance loads before its first request: index.js,
 * the composeWebhook chunk it imports at start, and every chunk they import statically. The
 * admin routes and the worker are dynamic imports, loaded later or never.
 */
function webhookStartupOutputs(metafile: Metafile): string[] {
  const outputs = Object.entries(metafile.outputs);
  const entry = (source: string) => {
    const found = outputs.find(([, output]) => output.entryPoint === source);
    if (!found) throw new Error(`no output chunk for ${source}`);
    return found[0];
  };
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imported of metafile.outputs[file]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) visit(imported.path);
    }
  };
  visit(entry('functions/index.ts'));
  visit(entry('functions/webhook/composeWebhook.ts'));
  return [...seen];
}

describe("the webhook's start-up path in the deployed bundle", () => {
  it('holds no classic zod (zod/mini only), no zod locale but English, undici\'s pool but not its index, and imports neither Firestore nor aiplatform', async () => {
    const { metafile } = await bundleFunctions({ write: false, metafile: true });
    const startup = webhookStartupOutputs(metafile);
    const inputs = startup.flatMap((file) => Object.keys(metafile.outputs[file]!.inputs));
    const externals = startup.flatMap((file) => metafile.outputs[file]!.imports.filter((imported) => imported.external).map((imported) => imported.path));

    expect(inputs, 'the schemas the webhook loads at start are bundled').toEqual(
      expect.arrayContaining(['shared/config/config.ts', 'shared/whatsapp/parseWebhookBody.ts', 'shared/zodMini.ts']),
    );
    expect(inputs.filter((input) => input.includes('node_modules/zod/v4/mini/')).length, 'zod/mini is there').toBeGreaterThan(0);
    expect(inputs.filter((input) => input.includes('node_modules/zod/v4/classic/')), 'classic zod (~790 KB) is not').toEqual([]);
    // An `import { z } from 'zod'` anywhere in the bundle keeps zod's 64 locales alive, in the chunk the webhook shares.
    expect(inputs.filter((input) => /node_modules\/zod\/v4\/locales\/(?!en\.js$)/.test(input)), 'no zod locale but English').toEqual([]);
    expect(externals.filter((name) => /firestore|aiplatform/.test(name))).toEqual([]);
    // The publisher's Pool comes from its own file (shared/http/undiciPool.ts); undici's index would load all of undici.
    expect(inputs, "undici's pool is bundled").toContain('node_modules/undici/lib/dispatcher/pool.js');
    expect(inputs.filter((input) => /node_modules\/undici\/(index\.js|lib\/web\/fetch\/index\.js|lib\/mock\/)/.test(input)), "undici's index, fetch and mocks are not").toEqual([]);
  });

  it('takes nothing from node:http by an ES import, whose module facade loads Node\'s internal undici (about 50 ms at start)', async () => {
    const { metafile } = await bundleFunctions({ write: false, metafile: true });
    const esImports = webhookStartupOutputs(metafile).flatMap((file) =>
      metafile.outputs[file]!.imports.filter((imported) => imported.external && imported.kind === 'import-statement').map((imported) => imported.path),
    );

    expect(esImports, 'the start-up path does import built-ins').toContain('node:crypto');
    expect(esImports.filter((name) => /^(node:)?http$/.test(name))).toEqual([]);
  });
});
