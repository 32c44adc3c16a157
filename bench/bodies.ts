import { signatureFor } from '../shared/whatsapp/signature.js';
import { newWamid, textWebhook, toMetaJson } from '../local/webhookBodies.js';

export interface SignedBody {
  wamid: string;
  phone: string;
  text: string;
  raw: Buffer;
  signature: string;
}

export function benchPhone(user: number): string {
  return `5491150${String(user).padStart(6, '0')}`;
}

/**
 * Signed one-message text webhooks, Meta-escaped, each with a fresh wamid, cycling over `users`
 * senders. Built ahead of the timed window so the load generator only sends bytes.
 */
export function signedBodies(count: number, options: { users: number; appSecret: string; tag: string; firstUser?: number }): SignedBody[] {
  const bodies: SignedBody[] = [];
  for (let i = 0; i < count; i += 1) {
    const user = (options.firstUser ?? 0) + (i % options.users);
    const phone = benchPhone(user);
    const wamid = newWamid();
    const text = `${options.tag} ${i} ¿qué tal?`;
    const raw = Buffer.from(toMetaJson(textWebhook({ phone, name: `Bench User ${user}` }, text, { wamid })));
    bodies.push({ wamid, phone, text, raw, signature: signatureFor(raw, options.appSecret) });
  }
  return bodies;
}
