import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the chat page draws; every event is kept so a page that (re)connects replays the conversation. */
export type TimelineEvent =
  | {
      kind: 'inbound';
      wamid: string;
      phone: string;
      name: string;
      /** The business number written to. */
      phoneNumberId: string;
      type: string;
      text?: string;
      media?: { id: string; mimeType: string; voice?: boolean; filename?: string };
      replyTo?: string;
      reaction?: { messageId: string; emoji?: string };
      time: number;
    }
  | { kind: 'delivery'; wamid: string; status: number; error?: string; redelivery?: boolean }
  /** Staff wrote to the user from the WhatsApp Business app (coexistence): sent as an `smb_message_echoes` webhook. */
  | { kind: 'staff'; wamid: string; phone: string; phoneNumberId: string; text: string; time: number }
  | {
      kind: 'sent';
      id: string;
      phone: string;
      /** The business number it left from. */
      phoneNumberId: string;
      type: string;
      text?: string;
      replyTo?: string;
      body: Record<string, unknown>;
      time: number;
    }
  | { kind: 'read'; messageId: string; typing: boolean; time: number }
  /** Meta's status of a message the bot sent, as the sandbox reports it in a status webhook. */
  | { kind: 'status'; messageId: string; phone: string; status: 'sent' | 'delivered' | 'read' | 'failed'; code?: number; time: number }
  /** A chat's 24-hour window closed (from the page) or reopened (the user wrote). */
  | { kind: 'window'; phone: string; open: boolean; time: number }
  | {
      kind: 'graph-failed';
      call: 'send' | 'read' | 'media';
      phone?: string;
      type?: string;
      text?: string;
      status: number;
      code: number;
      message: string;
      time: number;
    }
  | { kind: 'faults'; pending: { count: number; status: number; code: number; only: string }[] }
  | { kind: 'note'; phone?: string; text: string; time: number }
  | { kind: 'reset' };

export interface Timeline {
  append(event: TimelineEvent): void;
  /** Serves `GET /events` as Server-Sent Events, resuming after `Last-Event-ID` when the browser reconnects. */
  stream(req: IncomingMessage, res: ServerResponse): void;
  clear(): void;
  close(): void;
}

const HEARTBEAT_MS = 15_000;
const RESET: TimelineEvent = { kind: 'reset' };

export function createTimeline(): Timeline {
  const history: { id: number; event: TimelineEvent }[] = [];
  const clients = new Set<ServerResponse>();
  let nextId = 1;

  function frame(id: number, event: TimelineEvent): string {
    return `id: ${id}\ndata: ${JSON.stringify(event)}\n\n`;
  }

  function append(event: TimelineEvent): void {
    const id = nextId++;
    history.push({ id, event });
    for (const client of clients) client.write(frame(id, event));
  }

  return {
    append,
    stream(req, res) {
      const lastSeen = Number(req.headers['last-event-id'] ?? 0) || 0;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      // An id the server never issued means the sandbox restarted: start the page over.
      const restarted = lastSeen >= nextId;
      const replay = restarted ? [{ id: 0, event: RESET }, ...history] : history.filter((item) => item.id > lastSeen);
      // `caught-up` tells the page that what follows is live (typing, unread marks), not history.
      res.write(`retry: 1000\n\n${replay.map((item) => frame(item.id, item.event)).join('')}event: caught-up\ndata:\n\n`);
      clients.add(res);
      const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
      res.on('close', () => {
        clearInterval(heartbeat);
        clients.delete(res);
      });
    },
    clear() {
      history.length = 0;
      append(RESET);
    },
    close() {
      for (const client of clients) client.end();
      clients.clear();
    },
  };
}
