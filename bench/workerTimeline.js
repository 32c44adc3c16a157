// Preload (--import) set only by the benchmark, via NODE_OPTIONS, on the worker: a timeline of its
// start and of the first-reply messages, for the breakdown of the first reply after a start
// (phase 3). It records when the process started and began listening, when each HTTP request
// (a push) arrived, and the start and duration of each gRPC call the worker makes (Firestore and
// the agent alike, at @grpc/grpc-js's Client, patched when the worker first loads it), marked by
// whether it ran inside a request (the context bench/requestContext.js opens for each) or
// outside one (the start-up warm-up). One JSON line per event, appended as it happens to
// $BENCH_WORKER_TIMELINE-<pid>.jsonl (no signal: SIGUSR2 belongs to the counting and profiling
// preloads), for the first MAX_EVENTS events only: the first-reply messages come first.
// It does nothing in any other process.
import { appendFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import module from 'node:module';
import { trackRequests } from './requestContext.js';

const MAX_EVENTS = 1000;

if (process.env.FUNCTION_TARGET === 'worker' && process.env.BENCH_WORKER_TIMELINE) {
  const file = `${process.env.BENCH_WORKER_TIMELINE}-${process.pid}.jsonl`;
  writeFileSync(file, `${JSON.stringify({ kind: 'start', at: Math.round(performance.timeOrigin) })}\n`);
  let events = 1;
  const record = (event) => {
    if (events >= MAX_EVENTS) return;
    events += 1;
    appendFileSync(file, `${JSON.stringify(event)}\n`);
  };

  const currentRequest = trackRequests();
  let listening = false;
  const { emit } = http.Server.prototype;
  http.Server.prototype.emit = function (event, ...args) {
    if (event === 'listening' && !listening) {
      listening = true;
      record({ kind: 'listening', at: Date.now() });
    }
    if (event === 'request' && args[0].method === 'POST') record({ kind: 'request', at: Date.now() });
    return emit.call(this, event, ...args);
  };

  const patchClient = (Client) => {
    for (const name of ['makeUnaryRequest', 'makeServerStreamRequest', 'makeClientStreamRequest', 'makeBidiStreamRequest']) {
      const original = Client.prototype[name];
      Client.prototype[name] = function (path, ...rest) {
        const at = Date.now();
        const inRequest = currentRequest() !== undefined;
        const call = original.call(this, path, ...rest);
        call.once('status', () => record({ kind: 'rpc', method: path.slice(path.lastIndexOf('/') + 1), at, ms: Date.now() - at, inRequest }));
        return call;
      };
    }
  };
  // The worker loads @grpc/grpc-js (every copy of it) only once it needs it, on its own schedule:
  // patch each copy as it is compiled rather than load it here, which would move its load time.
  const compileJs = module._extensions['.js'];
  module._extensions['.js'] = function (loaded, filename) {
    const result = compileJs.call(this, loaded, filename);
    if (/[\\/]@grpc[\\/]grpc-js[\\/]build[\\/]src[\\/]client\.js$/.test(filename)) patchClient(loaded.exports.Client);
    return result;
  };
}
