import type { HttpFunction } from '@google-cloud/functions-framework';
import type { Logger } from '../shared/log/logger.js';

/**
 * A failure the handler did not answer becomes a bare 500 and a log line. Left to the framework,
 * the caller would get the error's message (which may name a file path) unless NODE_ENV is
 * `production`.
 */
export function answerFailuresPlainly(handler: HttpFunction, log: Logger): HttpFunction {
  return async (req, res) => {
    try {
      await handler(req, res);
    } catch (error) {
      log.error({ err: error }, 'request failed');
      if (!res.headersSent) res.status(500).type('text/plain').send('Internal Server Error');
    }
  };
}
