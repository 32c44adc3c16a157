import { randomInt } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Firestore } from '@google-cloud/firestore';
import type { LocalStack } from '../../local/stack.js';
import { createFirestoreInboundLedger } from '../../shared/store/firestoreInboundLedger.js';
import type { InboundLedger } from '../../shared/store/inboundLedger.js';
import type { LocalAgent, LocalAgentCall } from '../../local/agent/localAgent.js';
import type { SentMessage, WhatsAppSandbox } from '../../local/sandbox/whatsappSandbox.js';
import type { WebhookSender } from '../../local/webhookBodies.js';

/** Small helpers shared by the reliability tests: distinct users, reply bookkeeping, figures. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `count` users with distinct random phone numbers, so tests (and reruns) never share a chat. */
export function makeUsers(label: string, count: number): (WebhookSender & { phone: string; label: string })[] {
  const base = randomInt(10_000_000, 90_000_000);
  return Array.from({ length: count }, (_, i) => ({
    phone: `549${base + i}`,
    name: `${label} ${i + 1}`,
    label: `${label}${i + 1}`,
  }));
}

/** The texts the bot sent to one phone, in the order Graph accepted them. */
export function textsTo(sandbox: WhatsAppSandbox, phone: string): string[] {
  return sandbox
    .sent()
    .filter((message: SentMessage) => message.to === `+${phone}`)
    .map((message) => message.text ?? '');
}

/** Graph send calls (accepted or refused) addressed to one phone; read receipts are not sends. */
export function sendAttemptsTo(sandbox: WhatsAppSandbox, phone: string): number {
  return sandbox.requests.filter((request) => {
    const body = request.body as Record<string, unknown> | undefined;
    return request.method === 'POST' && body !== undefined && body.status !== 'read' && body.to === `+${phone}`;
  }).length;
}

/** The text the local agent's default reply echoes: `Echo #turn: text`. */
export function echoed(text: string): string | undefined {
  return /^Echo #\d+: ([\s\S]*)$/.exec(text)?.[1];
}

export function agentCallsFor(agent: LocalAgent, userId: string): LocalAgentCall[] {
  return agent.calls.filter((call) => call.userId === userId);
}

/** Counts how often each value occurs. */
export function tally<T>(values: Iterable<T>): Map<T, number> {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The idempotency ledger the worker writes, read straight from the Firestore emulator. */
export function openLedger(stack: LocalStack): { ledger: InboundLedger; close: () => Promise<void> } {
  const db = new Firestore({ projectId: stack.projectId });
  return { ledger: createFirestoreInboundLedger(db), close: () => db.terminate() };
}

/** Waits until `pick` returns something truthy, polling; for conditions outside the sandbox. */
export async function until<T>(pick: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await pick();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`until: ${what} not reached within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * A Graph API front for the sandbox that fails a random share of message sends with a Graph
 * server error (HTTP 500, code 2, retryable), forwarding everything else (media download URLs in
 * its answers name the front, as Graph's own origin, so the worker trusts them). The sandbox's
 * own failNext is a FIFO of "next N calls fail"; a per-call probability needs a front like this.
 */
export interface FaultyGraph {
  url: string;
  /** Share of send calls (not read receipts) that fail, 0..1. */
  sendFailureRate: number;
  /** These many sends fail before the rate applies: a run with few sends still meets faults. */
  failFirstSends: number;
  injected: number;
  forwarded: number;
  close(): Promise<void>;
}

export async function startFaultyGraph(targetUrl: string, random: () => number = Math.random): Promise<FaultyGraph> {
  const target = new URL(targetUrl);
  const front: FaultyGraph = {
    url: '',
    sendFailureRate: 0,
    failFirstSends: 0,
    injected: 0,
    forwarded: 0,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isSend = req.method === 'POST' && /\/messages$/.test(req.url ?? '') && !/"status"\s*:\s*"read"/.test(body.toString());
      const failThisOne = () => (front.failFirstSends > 0 ? (front.failFirstSends -= 1) >= 0 : random() < front.sendFailureRate);
      if (isSend && failThisOne()) {
        front.injected += 1;
        const error = { error: { message: 'An unknown error occurred', type: 'OAuthException', code: 2, fbtrace_id: 'chaos' } };
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify(error));
        return;
      }
      front.forwarded += 1;
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          if (!/json/.test(answer.headers['content-type'] ?? '')) {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            return;
          }
          // The sandbox's media download URLs name its own origin: the front serves them, as Graph's.
          const parts: Buffer[] = [];
          answer.on('data', (part: Buffer) => parts.push(part));
          answer.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8').replaceAll(target.origin, front.url);
            res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'content-length': String(Buffer.byteLength(text)) }).end(text);
          });
        },
      );
      upstream.on('error', (error) => res.writeHead(502).end(String(error)));
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return front;
}

/** Resolves when a log line of `lines` (from now on) matches; for events only the logs show. */
export async function waitForLine(lines: string[], match: (line: string) => boolean, timeoutMs: number, from = 0): Promise<string> {
  return until(() => lines.slice(from).find(match), timeoutMs, 'log line');
}
