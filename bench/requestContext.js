// Used by the worker's bench preloads (countFirestore.js, workerTimeline.js): which HTTP request,
// i.e. which push, the code running now belongs to. Each request the process's HTTP servers emit
// runs in its own AsyncLocalStorage context, which follows its promises and callbacks. The worker
// runs a push outside functions-framework's request `domain` (functions/outsideRequestDomain.ts),
// so `process.domain` cannot tell requests apart.
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';

let requests;

/** Starts tagging requests (once per process); returns a function giving the current request's token, or undefined outside any request. */
export function trackRequests() {
  if (!requests) {
    requests = new AsyncLocalStorage();
    const { emit } = http.Server.prototype;
    http.Server.prototype.emit = function (event, ...args) {
      if (event !== 'request') return emit.call(this, event, ...args);
      return requests.run({}, () => emit.call(this, event, ...args));
    };
  }
  return () => requests.getStore();
}
