import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

export interface TextResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** The request was given up at its deadline; `name` as AbortSignal.timeout's error. */
export class DeadlineError extends Error {
  override name = 'TimeoutError';
}

/**
 * One request through an undici dispatcher's `dispatch`, its answer read whole into a string,
 * given up at `deadline` (a `performance.now()` time) with a DeadlineError saying `what` did not
 * finish. Why not undici's `request`: it wraps every answer in a Readable stream, an AsyncResource
 * and an AbortSignal listener, and AbortSignal.timeout costs another timer and EventTarget: a large
 * share of a function's CPU per message for answers of a few dozen bytes (bench/README).
 */
export function requestText(dispatcher: Dispatcher, request: Dispatcher.DispatchOptions, deadline: number, what: string): Promise<TextResponse> {
  return new Promise((resolve, reject) => {
    const remaining = deadline - performance.now();
    if (remaining <= 0) {
      reject(new DeadlineError(`${what} did not finish before its deadline`));
      return;
    }
    let controller: Dispatcher.DispatchController | undefined;
    let expired: DeadlineError | undefined;
    let statusCode = 0;
    let headers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      expired = new DeadlineError(`${what} did not finish before its deadline`);
      // A request still queued for a connection is aborted when it starts (onRequestStart).
      controller?.abort(expired);
      reject(expired);
    }, remaining).unref();
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    try {
      dispatcher.dispatch(request, {
        onRequestStart(started) {
          if (expired) started.abort(expired);
          else controller = started;
        },
        onResponseStart(_controller, status, responseHeaders) {
          statusCode = status;
          headers = responseHeaders;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          clearTimeout(timer);
          resolve({ statusCode, headers, text: Buffer.concat(chunks).toString('utf8') });
        },
        onResponseError: (_controller, error) => fail(error),
      });
    } catch (error) {
      fail(error as Error);
    }
  });
}
