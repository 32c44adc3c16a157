// A Pub/Sub REST `topics.publish` stand-in that costs (almost) nothing, run by the bench in its
// own process: the webhook's saturation against it is the webhook's own, not the emulator JVM's
// on the same two cores. It answers what Pub/Sub answers (200 {"messageIds": [...]}; 400 with
// Google's error shape for a body that is not a publish request) and keeps, per message, the
// data volume Pub/Sub bills (https://cloud.google.com/pubsub/pricing: body bytes, each
// attribute's key and value, 20 bytes of timestamp, the message id), served at GET /stats.
// Prints {"port": N} on its first line.
import { createServer } from 'node:http';

const PUBLISH = /^\/v1\/projects\/[^/]+\/topics\/[^/]+:publish$/;
const stats = { requests: 0, messages: 0, dataBytes: 0, refused: 0 };
let nextId = 1;

const refuse = (res, message) => {
  stats.refused += 1;
  res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 400, message, status: 'INVALID_ARGUMENT' } }));
};

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    if (req.method !== 'POST' || !PUBLISH.test(req.url ?? '')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":404,"status":"NOT_FOUND"}}');
      return;
    }
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return refuse(res, 'Invalid JSON payload received.');
    }
    const messages = body?.messages;
    if (!Array.isArray(messages) || messages.length === 0) return refuse(res, 'The request contains no messages.');
    const ids = [];
    let bytes = 0;
    for (const message of messages) {
      if (typeof message?.data !== 'string' && !message?.attributes) return refuse(res, 'A message needs data or attributes.');
      const id = String(nextId++);
      ids.push(id);
      bytes += Buffer.from(message.data ?? '', 'base64').length + 20 + id.length;
      for (const [key, value] of Object.entries(message.attributes ?? {})) bytes += Buffer.byteLength(key) + Buffer.byteLength(String(value));
      if (typeof message.orderingKey === 'string') bytes += Buffer.byteLength(message.orderingKey);
    }
    stats.requests += 1;
    stats.messages += messages.length;
    stats.dataBytes += bytes;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messageIds: ids }));
  });
});

server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
