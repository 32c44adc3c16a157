import type { BuildResult } from 'esbuild';

export declare const EXTERNAL: string[];
export declare function bundleFunctions(): Promise<BuildResult>;
