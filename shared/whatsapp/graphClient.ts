import { Transform, type Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { PermanentError, RetryableError } from '../errors.js';
import { requestText } from '../http/requestText.js';
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

/** What the Graph API says about an inbound media object before it is downloaded. */
export interface MediaInfo {
  mediaId: string;
  /** Short-lived (5 min) download URL on a Meta host; needs the token. */
  url: string;
  mimeType?: string;
  /** Meta's figure; it may be missing or wrong, so limits are enforced on the bytes too. */
  fileSize?: number;
}

/** A media download in progress: the body fails with PermanentError `media_too_large` once it passes the limit. */
export interface MediaDownload {
  body: Readable;
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
  /** Downloads a whole media object into memory (inline mode). */
  downloadMedia(mediaId: string, maxBytes: number): Promise<DownloadedMedia>;
}

/** Inbound media as a stream, for copying it elsewhere without holding it in memory. */
export interface MediaSource {
  /** Looks up a media object's download URL, type and size. */
  mediaInfo(mediaId: string): Promise<MediaInfo>;
  /** Starts the download, refusing a URL off Meta's hosts (the token goes with it); the caller must consume or destroy the body. */
  openMedia(info: MediaInfo, maxBytes: number): Promise<MediaDownload>;
}

export interface GraphClientOptions {
  baseUrl: string;
  apiVersion: string;
  accessToken: string;
  timeoutMs: number;
}

export function createGraphClient(options: GraphClientOptions): WhatsAppClient & MediaSource {
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 64 });
  const base = options.baseUrl.replace(/\/+$/, '');
  const { origin, pathname } = new URL(base);
  const basePath = pathname.replace(/\/+$/, '');
  const authorization = `Bearer ${options.accessToken}`;
  const getHeaders = { authorization };
  const postHeaders = { authorization, 'content-type': 'application/json' };

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let response;
    try {
      const request = body === undefined ? { headers: getHeaders } : { headers: postHeaders, body: JSON.stringify(body) };
      response = await requestText(dispatcher, { origin, path: `${basePath}${path}`, method, ...request }, performance.now() + options.timeoutMs, 'Graph API call');
    } catch (error) {
      throw new RetryableError(`Graph API unreachable: ${(error as Error).message}`, 'graph_network', {
        system: 'whatsapp',
        cause: error,
      });
    }
    const parsed = parseJson(response.text);
    if (response.statusCode >= 200 && response.statusCode < 300) return parsed as T;
    const retryAfter = response.headers['retry-after'];
    throw graphError(response.statusCode, parsed as GraphErrorBody | undefined, typeof retryAfter === 'string' ? retryAfter : undefined);
  }

  const messagesPath = (phoneNumberId: string) => `/${options.apiVersion}/${encodeURIComponent(phoneNumberId)}/messages`;

  async function post(phoneNumberId: string, to: Recipient, content: Record<string, unknown>): Promise<string> {
    const result = await call<{ messages?: { id?: string }[] }>('POST', messagesPath(phoneNumberId), {
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

  async function mediaInfo(mediaId: string): Promise<MediaInfo> {
    const meta = await call<{ url?: string; mime_type?: string; file_size?: number }>(
      'GET',
      `/${options.apiVersion}/${encodeURIComponent(mediaId)}`,
    );
    if (!meta?.url) throw new RetryableError(`no download URL for media ${mediaId}`, 'graph_media_no_url', {
      system: 'whatsapp',
    });
    return {
      mediaId,
      url: meta.url,
      ...(meta.mime_type ? { mimeType: meta.mime_type } : {}),
      ...(typeof meta.file_size === 'number' ? { fileSize: meta.file_size } : {}),
    };
  }

  async function openMedia(info: MediaInfo, maxBytes: number): Promise<MediaDownload> {
    if (!isMetaMediaUrl(info.url, base)) {
      throw new PermanentError(`media ${info.mediaId} names a download URL off Meta's hosts; the token was not sent`, 'media_url_untrusted', {
        fields: { mediaHost: hostOf(info.url) },
      });
    }
    if (info.fileSize !== undefined && info.fileSize > maxBytes) throw mediaTooLarge(info.mediaId, maxBytes, info.fileSize);
    let response;
    try {
      response = await request(info.url, { dispatcher, headers: { authorization }, signal: AbortSignal.timeout(options.timeoutMs) });
    } catch (error) {
      throw new RetryableError(`media download failed: ${(error as Error).message}`, 'graph_network', { system: 'whatsapp', cause: error });
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw graphError(response.statusCode, undefined);
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      response.body.destroy();
      throw mediaTooLarge(info.mediaId, maxBytes, declared);
    }
    // file_size and Content-Length may be missing or wrong: the limit holds on the bytes themselves.
    let size = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > maxBytes) done(mediaTooLarge(info.mediaId, maxBytes));
        else done(null, chunk);
      },
    });
    const body = response.body;
    body.on('error', (error) => limit.destroy(downloadInterrupted(error)));
    limit.on('close', () => body.destroy());
    return {
      body: body.pipe(limit),
      mimeType: info.mimeType ?? String(response.headers['content-type'] ?? 'application/octet-stream'),
    };
  }

  return {
    async markReadWithTyping(phoneNumberId, wamid) {
      await call('POST', messagesPath(phoneNumberId), {
        messaging_product: 'whatsapp',
        status: 'read',
        message_id: wamid,
        typing_indicator: { type: 'text' },
      });
    },

    sendText({ phoneNumberId, to, text, replyTo }) {
      return send({ phoneNumberId, to, message: textMessage(text), replyTo });
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
      const download = await openMedia(await mediaInfo(mediaId), maxBytes);
      const chunks: Buffer[] = [];
      for await (const chunk of download.body as AsyncIterable<Buffer>) chunks.push(chunk);
      return { data: Buffer.concat(chunks), mimeType: download.mimeType };
    },

    mediaInfo,
    openMedia,
  };
}

function mediaTooLarge(mediaId: string, maxBytes: number, size?: number): PermanentError {
  return new PermanentError(`media ${mediaId} is ${size === undefined ? 'over' : `${size} bytes, over`} ${maxBytes} bytes`, 'media_too_large', {
    fields: { maxBytes },
  });
}

function downloadInterrupted(error: Error): RetryableError {
  return new RetryableError(`media download interrupted: ${error.message}`, 'graph_network', { system: 'whatsapp', cause: error });
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
