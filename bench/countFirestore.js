// Preload (--import) set only by the benchmark, via NODE_OPTIONS, on the worker: counts the
// Firestore RPCs the worker makes, the documents they read and write, and how long each took,
// at the client's single request funnel (Firestore#request / #requestStream). Writes the totals
// to $BENCH_FIRESTORE_COUNTS on SIGUSR2. It does nothing in any other process.
//
// `sequential` counts the RPCs that start while none of the same request's RPCs is in flight:
// the Firestore round trips a delivery waits for one after the other. RPCs started in parallel
// (Promise.all) count once. The request is told apart by the context bench/requestContext.js
// opens for each HTTP request; RPCs outside any request are counted in `unattributed`.
//
// The client is patched when the worker itself first loads it, not loaded here: loading it at the
// preload would take its load time out of the worker's start and first message (phase 3's first
// reply after a start).
import { writeFileSync } from 'node:fs';
import module from 'node:module';
import { trackRequests } from './requestContext.js';

if (process.env.FUNCTION_TARGET === 'worker' && process.env.BENCH_FIRESTORE_COUNTS) {
  const counts = { rpcs: {}, documentsRead: 0, documentsWritten: 0, queries: 0, sequential: 0, unattributed: 0, ms: {} };
  const inFlight = new WeakMap();
  const currentRequest = trackRequests();
  const note = (method, request) => {
    counts.rpcs[method] = (counts.rpcs[method] ?? 0) + 1;
    if (method === 'batchGetDocuments') counts.documentsRead += request?.documents?.length ?? 0;
    if (method === 'commit') counts.documentsWritten += request?.writes?.length ?? 0;
    if (method === 'runQuery' || method === 'runAggregationQuery') counts.queries += 1;
    const pushRequest = currentRequest();
    if (!pushRequest) counts.unattributed += 1;
    else {
      const running = inFlight.get(pushRequest) ?? 0;
      if (running === 0) counts.sequential += 1;
      inFlight.set(pushRequest, running + 1);
    }
    const started = performance.now();
    let finished = false;
    return () => {
      if (finished) return;
      finished = true;
      if (pushRequest) inFlight.set(pushRequest, inFlight.get(pushRequest) - 1);
      (counts.ms[method] ??= []).push(Math.round((performance.now() - started) * 10) / 10);
    };
  };
  const patch = (Firestore) => {
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
      // A stream is over for its caller at its end, or at its error.
      result.then((stream) => {
        stream.once('end', done);
        stream.once('error', done);
      }, done);
      return result;
    };
  };
  const compileJs = module._extensions['.js'];
  module._extensions['.js'] = function (loaded, filename) {
    const result = compileJs.call(this, loaded, filename);
    if (/[\\/]@google-cloud[\\/]firestore[\\/]build[\\/]src[\\/]index\.js$/.test(filename)) patch(loaded.exports.Firestore);
    return result;
  };
  process.on('SIGUSR2', () => writeFileSync(process.env.BENCH_FIRESTORE_COUNTS, JSON.stringify(counts)));
}
