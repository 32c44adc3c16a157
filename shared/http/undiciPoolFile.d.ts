// undici ships no types for its internal files; this one holds the Pool class its index exports (undiciPool.ts).
declare module 'undici/lib/dispatcher/pool.js' {
  const Pool: typeof import('undici').Pool;
  export default Pool;
}
