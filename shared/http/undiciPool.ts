import type { Pool as UndiciPool } from 'undici';
import PoolFromItsFile from 'undici/lib/dispatcher/pool.js';

/**
 * undici's `Pool`, imported from its own file rather than from undici's index. The index loads
 * all of undici (fetch, WebSocket, caches, mocks, proxies: 1.4 MB in the bundle) for the one class
 * the webhook sends with; this file brings the pool, its client and the HTTP/1 parser, half of
 * that, and takes that much off the webhook's cold start (bench/README, round two).
 * The path is undici's private layout: undiciPool.test.ts fails when it stops holding the class
 * the index exports. The index also mixes `request`, `stream` and friends into every dispatcher;
 * send through `dispatch` (requestText.ts), which does not depend on that.
 */
export const Pool: typeof UndiciPool = PoolFromItsFile;
export type Pool = UndiciPool;
