import type { Timeline } from './sandboxTimeline.js';
import { statusWebhook } from '../webhookBodies.js';
import { postWebhook, signWebhook } from '../webhookDelivery.js';

/**
 * Meta's side of what the bot sent: the status webhooks (sent, delivered, read; failed with a
 * code) that a real WhatsApp would POST for each message, and each chat's 24-hour window.
 */
export interface SandboxStatuses {
  /** Graph accepted a send: report it sent and delivered, or failed with 131047 when the chat's window is closed. */
  accepted(message: { id: string; phone: string | undefined; type: string; phoneNumberId: string }): void;
  /** The user looked at the chat: what the bot sent there is read. */
  chatRead(phone: string): void;
  /** Free-form messages to this chat fail with 131047 until the user writes again (templates still go). */
  closeWindow(phone: string): void;
  /** The user wrote: the window is open again. */
  userWrote(phone: string): void;
  isWindowClosed(phone: string): boolean;
  reset(): void;
}

interface Options {
  timeline: Timeline;
  webhookUrl?: string;
  appSecret?: string;
  /** Off: no status webhooks (tests that count webhooks), windows still close. */
  sendWebhooks: boolean;
  log(line: string): void;
}

const OUTSIDE_WINDOW = 131047;

export function createSandboxStatuses(options: Options): SandboxStatuses {
  const closed = new Set<string>();
  const unread = new Map<string, { id: string; phoneNumberId: string }[]>();
  // One chain: Meta's callbacks for one message leave in order (the bridge must cope with any order anyway).
  let chain = Promise.resolve();

  function report(
    message: { id: string; phone: string; phoneNumberId: string },
    status: 'sent' | 'delivered' | 'read' | 'failed',
    code?: number,
  ): void {
    options.timeline.append({ kind: 'status', messageId: message.id, phone: message.phone, status, ...(code ? { code } : {}), time: Date.now() });
    if (!options.sendWebhooks || !options.webhookUrl) return;
    const body = statusWebhook({ wamid: message.id, status, recipient: message.phone, ...(code ? { errorCode: code } : {}) }, message.phoneNumberId);
    const url = options.webhookUrl;
    chain = chain
      .then(() => postWebhook(url, signWebhook(body, options.appSecret)))
      .then((result) => {
        if (result.error) options.log(`sandbox ✗ status ${status} for ${message.id} → ${result.error}`);
      });
  }

  return {
    accepted({ id, phone, type, phoneNumberId }) {
      if (!phone) return;
      const message = { id, phone, phoneNumberId };
      if (closed.has(phone) && type !== 'template') {
        report(message, 'failed', OUTSIDE_WINDOW);
        return;
      }
      report(message, 'sent');
      report(message, 'delivered');
      unread.set(phone, [...(unread.get(phone) ?? []), { id, phoneNumberId }]);
    },
    chatRead(phone) {
      for (const message of unread.get(phone) ?? []) report({ ...message, phone }, 'read');
      unread.delete(phone);
    },
    closeWindow(phone) {
      closed.add(phone);
      options.timeline.append({ kind: 'window', phone, open: false, time: Date.now() });
    },
    userWrote(phone) {
      if (closed.delete(phone)) options.timeline.append({ kind: 'window', phone, open: true, time: Date.now() });
    },
    isWindowClosed: (phone) => closed.has(phone),
    reset() {
      closed.clear();
      unread.clear();
    },
  };
}
