import type { Request, Response } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { sendProactiveMessage, type ProactiveDeps, type ProactiveRequest, type ProactiveResult } from '../../../shared/core/sendProactiveMessage.js';
import type { OutboundMessageStore } from '../../../shared/store/outboundMessageStore.js';

export interface MessageRouteDeps {
  outbound: OutboundMessageStore;
  /** Absent when the webhook function has no WHATSAPP_ACCESS_TOKEN: proactive sends answer 501. */
  proactive?: ProactiveDeps;
}

const MAX_IDEMPOTENCY_KEY_CHARS = 256;

const proactiveSchema = z
  .object({
    to: z.string().trim().min(1),
    from: z.string().trim().min(1).optional(),
    text: z.string().min(1).max(4096).optional(),
    template: z
      .object({
        name: z.string().min(1),
        language: z.string().min(2),
        components: z.array(z.unknown()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((body) => (body.text === undefined) !== (body.template === undefined), {
    message: 'give exactly one of text or template',
  });

/** `POST /whatsapp/messages` (proactive send) and `GET /whatsapp/messages/{wamid}` (its delivery status). */
export function createMessageRoutes(deps: MessageRouteDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const wamid = /^\/whatsapp\/messages\/([^/]+)\/?$/.exec(req.path)?.[1];
    if (wamid !== undefined) {
      if (req.method !== 'GET') {
        res.status(405).set('Allow', 'GET').json({ error: 'method not allowed' });
        return;
      }
      let decoded: string;
      try {
        decoded = decodeURIComponent(wamid);
      } catch {
        res.status(400).json({ error: 'malformed wamid' });
        return;
      }
      const record = await deps.outbound.get(decoded);
      if (!record?.kind) {
        res.status(404).json({ error: 'no message with this wamid was sent by the bridge' });
        return;
      }
      res.status(200).json({
        wamid: record.wamid,
        // Until Meta's first status webhook, the message is only accepted.
        status: record.status?.status ?? 'accepted',
        ...(record.status?.error ? { error: record.status.error } : {}),
        updatedAt: record.updatedAt.toISOString(),
      });
      return;
    }
    if (req.method !== 'POST') {
      res.status(405).set('Allow', 'POST').json({ error: 'method not allowed' });
      return;
    }
    const sent = await sendFromRequest(req, res, deps.proactive, proactiveSchema, (body) => body);
    if (sent) res.status(200).json({ wamid: sent.result.wamid });
  };
}

/**
 * What a proactive send and a staff message share: 501 without a Graph token, the body checked
 * against `schema`, the Idempotency-Key, and a refusal (ours or Meta's) as the answer. Resolves
 * the sent message and its body, or undefined once the request has been answered.
 */
export async function sendFromRequest<Body>(
  req: Request,
  res: Response,
  proactive: ProactiveDeps | undefined,
  schema: z.ZodType<Body>,
  toRequest: (body: Body) => Omit<ProactiveRequest, 'idempotencyKey'>,
): Promise<{ result: Extract<ProactiveResult, { status: 200 }>; body: Body } | undefined> {
  if (!proactive) {
    res.status(501).json({ error: 'proactive_disabled', details: 'WHATSAPP_ACCESS_TOKEN is not set on the webhook function' });
    return undefined;
  }
  const body = schema.safeParse(req.body);
  if (!body.success) {
    res.status(400).json({ error: 'invalid_request', details: z.prettifyError(body.error) });
    return undefined;
  }
  const idempotencyKey = req.get('idempotency-key');
  if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY_CHARS)) {
    res.status(400).json({ error: 'invalid_request', details: `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} characters` });
    return undefined;
  }
  const result = await sendProactiveMessage({ ...toRequest(body.data), idempotencyKey }, proactive);
  if (result.status === 200) return { result, body: body.data };
  const { status, retryAfterSeconds, ...answer } = result;
  if (retryAfterSeconds !== undefined) res.set('Retry-After', String(retryAfterSeconds));
  res.status(status).json(answer);
  return undefined;
}
