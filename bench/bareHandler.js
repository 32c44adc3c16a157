// The framework's floor for the benchmark: the same functions-framework CLI, body parsing and
// routing as the webhook, and a handler that only answers 200.
import { http } from '@google-cloud/functions-framework';

http('bare', (req, res) => {
  res.status(200).send('ok');
});
