import type { StatusReport } from '../core/deliveryStatus.js';

/** What the bridge sent: a reply chunk, the re-engagement template, a proactive message, staff's words during a hand-off, or a fixed notice. */
export type OutboundKind = 'reply' | 'held-reply' | 'template' | 'proactive' | 'staff' | 'notice';

/** `outbound_messages/{wamid}`: one message the bridge sent and the furthest status Meta reported for it. */
export interface OutboundRecord {
  wamid: string;
  phoneNumberId: string;
  userId: string;
  phone?: string;
  /** Absent when a status arrived for a message the bridge did not record (or not yet). */
  kind?: OutboundKind;
  /** For a reply: the inbound message it answers, which chunk it is, and its text, so a late 131047 can hold it. */
  inReplyTo?: string;
  chunkIndex?: number;
  text?: string;
  /** Absent until the first status webhook: Meta has only accepted the message. */
  status?: StatusReport;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
}

export type NewOutbound = Omit<OutboundRecord, 'status' | 'createdAt' | 'updatedAt' | 'expiresAt'> & { kind: OutboundKind };

export interface StatusChange {
  /** The record after the status, or undefined when it changed nothing. */
  changed?: OutboundRecord;
  previous?: StatusReport;
}

export interface OutboundMessageStore {
  /** Records a sent message without touching a status that may already have arrived. One write. */
  recordSent(message: NewOutbound, now: Date): Promise<void>;
  /** Applies a status report, never moving backwards. One read, and one write only when it changes something. */
  applyStatus(
    report: StatusReport & { wamid: string; phoneNumberId: string; userId?: string },
    now: Date,
  ): Promise<StatusChange>;
  get(wamid: string): Promise<OutboundRecord | undefined>;
}
