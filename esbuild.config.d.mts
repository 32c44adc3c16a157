import type { BuildOptions, BuildResult } from 'esbuild';

export declare const EXTERNAL: string[];
export declare function bundleFunctions<Overrides extends BuildOptions = {}>(overrides?: Overrides): Promise<BuildResult<Overrides>>;
