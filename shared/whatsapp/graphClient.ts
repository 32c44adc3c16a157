import { Agent, request } from 'undici';
import { PermanentError, RetryableError } from '../errors.js';
import { graphError, type GraphErrorBody } from './graphErrors.js';
import { textMessage, type OutboundMessage } from './outboundMessage.js';
import { isMetaMediaUrl } from './isMetaMediaUrl.js';

/** Who a reply goes to: the phone number when known, else the BSUID (Meta's `recipient`). */
export interface Recipient {
  phone?: string;
  userId: string;
}

export interface OutboundText {
  phoneNumberId: string;
  to: Recipient;
  text: string;
  /** Quote this inbound message in the reply bubble. */
  replyTo?: string;
}

/** An approved message template: the only thing WhatsApp lets through outside the 24-hour window. */
export interface TemplateRef {
  name: string;
  /** e.g. `es`, `en_US`. */
  language: string;
  /** Meta's `components` (header, body and button parameters), passed through as given. */
  components?: unknown[];
}

export interface OutboundTemplate {
  phoneNumberId: string;
  to: Recipient;
  template: TemplateRef;
}

/** Any message the bridge renders: text, reply buttons, list, call-to-action link, media by link, location. */
export interface Outbound {
  phoneNumberId: string;
  to: Recipient;
  message: OutboundMessage;
  replyTo?: string;
}

export interface DownloadedMedia {
  data: Buffer;
  mimeType: string;
}

/** The seam to the WhatsApp Cloud API. Failures are RetryableError or PermanentError (media too large: no system failed). */
export interface WhatsAppClient {
  /** Marks the message read and shows the typing indicator (one call). */
  markReadWithTyping(phoneNumberId: string, wamid: string): Promise<void>;
  /** Sends one text message and returns its wamid. */
  sendText(message: OutboundText): Promise<string>;
  /** Sends a template message and returns its wamid. */
  sendTemplate(message: OutboundTemplate): Promise<string>;
  /** Sends one rendered message and returns its wamid. */
  send(outbound: Outbound): Promise<string>;
  downloadMedia(mediaId: string, maxBytes: number): Promise<DownloadedMedia>;
}

export interface GraphClientOptions {
  baseUrl: string;
  apiVersion: string;
  accessToken: string;
  timeoutMs: number;
}

export function createGraphClient(options: GraphClientOptions): WhatsAppClient {
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  const base = options.baseUrl.replace(/\/+$/, '');
  const authorization = `Bearer ${options.accessToken}`;

  async function call<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
    let response;
    try {
      response = await request(url, {
        method,
        dispatcher,
        headers: {
          authorization,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw new RetryableError(`Graph API unreachable: ${(error as Error).message}`, 'graph_network', {
        system: 'whatsapp',
        cause: error,
      });
    }
    const text = await response.body.text();
    const parsed = parseJson(text);
    if (response.statusCode >= 200 && response.statusCode < 300) return parsed as T;
    const retryAfter = response.headers['retry-after'];
    throw graphError(response.statusCode, parsed as GraphErrorBody | undefined, typeof retryAfter === 'string' ? retryAfter : undefined);
  }

  const messagesUrl = (phoneNumberId: string) => `${base}/${options.apiVersion}/${encodeURIComponent(phoneNumberId)}/messages`;

  async function post(phoneNumberId: string, to: Recipient, content: Record<string, unknown>): Promise<string> {
    const result = await call<{ messages?: { id?: string }[] }>('POST', messagesUrl(phoneNumberId), {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      ...(to.phone ? { to: `+${to.phone}` } : { recipient: to.userId }),
      ...content,
    });
    const id = result?.messages?.[0]?.id;
    if (!id) throw new RetryableError('Graph API accepted the send but returned no message id', 'graph_no_id', { system: 'whatsapp' });
    return id;
  }

  function send({ phoneNumberId, to, message, replyTo }: Outbound): Promise<string> {
    return post(phoneNumberId, to, { ...message, ...(replyTo ? { context: { message_id: replyTo } } : {}) });
  }

  return {
    async markReadWithTyping(phoneNumberId, wamid) {
      await call('POST', messagesUrl(phoneNumberId), {
        messaging_product: 'whatsapp',
        status: 'read',
        message_id: wamid,
        typing_indicator: { type: 'text' },
      });
    },

    sendText({ phoneNumberId, to, text, replyTo }) {
      return send({ phoneNumberId, to, message: textMessage(text), ...(replyTo ? { replyTo } : {}) });
    },

    async sendTemplate({ phoneNumberId, to, template }) {
      return post(phoneNumberId, to, {
        type: 'template',
        template: {
          name: template.name,
          language: { code: template.language },
          ...(template.components ? { components: template.components } : {}),
        },
      });
    },

    send,

    async downloadMedia(mediaId, maxBytes) {
      const meta = await call<{ url?: string; mime_type?: string; file_size?: number }>(
        'GET',
        `${base}/${options.apiVersion}/${encodeURIComponent(mediaId)}`,
      );
      if (!meta?.url) throw new RetryableError(`no download URL for media ${mediaId}`, 'graph_media_no_url', {
        system: 'whatsapp',
      });
      if (!isMetaMediaUrl(meta.url, base)) {
        throw new PermanentError(`media ${mediaId} names a download URL off Meta's hosts; the token was not sent`, 'media_url_untrusted', {
          fields: { mediaHost: hostOf(meta.url) },
        });
      }
      if (meta.file_size && meta.file_size > maxBytes) {
        throw new PermanentError(`media ${mediaId} is ${meta.file_size} bytes, over ${maxBytes}`, 'media_too_large');
      }
      const response = await request(meta.url, {
        dispatcher,
        headers: { authorization },
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        throw graphError(response.statusCode, undefined);
      }
      // file_size may be missing or wrong: enforce the limit on the bytes themselves.
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) {
          response.body.destroy();
          throw new PermanentError(`media ${mediaId} is over ${maxBytes} bytes`, 'media_too_large');
        }
        chunks.push(chunk);
      }
      const data = Buffer.concat(chunks);
      return { data, mimeType: meta.mime_type ?? String(response.headers['content-type'] ?? 'application/octet-stream') };
    },
  };
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
