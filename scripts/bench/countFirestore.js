// Preload (--import) set only by the benchmark, via NODE_OPTIONS, on the worker: counts the
// Firestore RPCs the worker makes, the documents they read and write, and how long each took,
// at the client's single request funnel (Firestore#request / #requestStream). Writes the totals
// to $BENCH_FIRESTORE_COUNTS on SIGUSR2. It does nothing in any other process.
import { writeFileSync } from 'node:fs';
import module from 'node:module';

if (process.env.FUNCTION_TARGET === 'worker' && process.env.BENCH_FIRESTORE_COUNTS) {
  const require = module.createRequire(`${process.cwd()}/package.json`);
  const { Firestore } = require('@google-cloud/firestore');
  const counts = { rpcs: {}, documentsRead: 0, documentsWritten: 0, queries: 0, ms: {} };
  const note = (method, request) => {
    counts.rpcs[method] = (counts.rpcs[method] ?? 0) + 1;
    if (method === 'batchGetDocuments') counts.documentsRead += request?.documents?.length ?? 0;
    if (method === 'commit') counts.documentsWritten += request?.writes?.length ?? 0;
    if (method === 'runQuery' || method === 'runAggregationQuery') counts.queries += 1;
    const started = performance.now();
    return () => (counts.ms[method] ??= []).push(Math.round((performance.now() - started) * 10) / 10);
  };
  const { request, requestStream } = Firestore.prototype;
  Firestore.prototype.request = function (method, req, ...rest) {
    const done = note(method, req);
    const result = request.call(this, method, req, ...rest);
    result.then(done, done);
    return result;
  };
  Firestore.prototype.requestStream = function (method, bidi, req, ...rest) {
    const done = note(method, req);
    const result = requestStream.call(this, method, bidi, req, ...rest);
    result.then((stream) => stream.once('end', done), done);
    return result;
  };
  process.on('SIGUSR2', () => writeFileSync(process.env.BENCH_FIRESTORE_COUNTS, JSON.stringify(counts)));
}
