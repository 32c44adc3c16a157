import { request } from 'undici';
import { signatureFor } from '../shared/whatsapp/signature.js';
import { toMetaJson } from './webhookBodies.js';

/** A webhook exactly as Meta would put it on the wire: escaped bytes and their signature. */
export interface SignedWebhook {
  bytes: Buffer;
  /** Absent when the sandbox has no app secret (the webhook then runs with ALLOW_UNSIGNED_WEBHOOKS). */
  signature?: string;
}

export interface DeliveryResult {
  /** The webhook's HTTP status; 0 when it could not be reached. */
  status: number;
  error?: string;
}

const DELIVERY_TIMEOUT_MS = 15_000;

export function signWebhook(body: unknown, appSecret: string | undefined): SignedWebhook {
  const bytes = Buffer.from(toMetaJson(body), 'utf8');
  return appSecret ? { bytes, signature: signatureFor(bytes, appSecret) } : { bytes };
}

/** POSTs like Meta: only the status matters to Meta, so the body is read and dropped. */
export async function postWebhook(url: string, webhook: SignedWebhook): Promise<DeliveryResult> {
  try {
    const response = await request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'facebookexternalua',
        ...(webhook.signature ? { 'x-hub-signature-256': webhook.signature } : {}),
      },
      body: webhook.bytes,
      headersTimeout: DELIVERY_TIMEOUT_MS,
      bodyTimeout: DELIVERY_TIMEOUT_MS,
    });
    await response.body.dump();
    const status = response.statusCode;
    return status >= 200 && status < 300 ? { status } : { status, error: `HTTP ${status}` };
  } catch (error) {
    return { status: 0, error: `webhook unreachable: ${error instanceof Error ? error.message : String(error)}` };
  }
}
