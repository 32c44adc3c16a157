/**
 * `held_replies/{phoneNumberId}:{userId}`: replies that could not go out as free text because the
 * user's 24-hour window had closed. They wait for the user's next message (which reopens the
 * window) and then go out first, each once. The re-engagement template goes out once per hold.
 * Expires (TTL) `HELD_REPLY_TTL_HOURS` after the first reply was held: a stale answer is worse
 * than none.
 */
export interface HeldReply {
  /** `{inbound wamid}#{chunk}`: holding the same chunk twice keeps one. */
  id: string;
  text: string;
  heldAt: Date;
}

export interface HeldReplies {
  phoneNumberId: string;
  userId: string;
  phone?: string;
  replies: HeldReply[];
  /** Set once a delivery took on sending the template for this hold. */
  templateClaimedAt?: Date;
  templateWamid?: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface HoldRequest {
  phoneNumberId: string;
  userId: string;
  phone?: string;
  replies: HeldReply[];
  now: Date;
  ttlMs: number;
}

export interface HeldReplyStore {
  /**
   * Adds replies (ids already held are kept once) in a transaction. `sendTemplate` is true for
   * exactly one caller per hold: the one that must send the re-engagement template.
   */
  hold(request: HoldRequest): Promise<{ sendTemplate: boolean }>;
  /** The template went out. */
  templateSent(phoneNumberId: string, userId: string, templateWamid: string): Promise<void>;
  /** The template could not go out for a reason a retry may fix: let the next attempt send it. */
  releaseTemplateClaim(phoneNumberId: string, userId: string): Promise<void>;
  /** The live hold, oldest reply first; an expired one reads as none. */
  get(phoneNumberId: string, userId: string, now: Date): Promise<HeldReplies | undefined>;
  /** One held reply was delivered; the hold ends with its last reply. */
  delivered(phoneNumberId: string, userId: string, replyId: string): Promise<void>;
  /** Drops the hold (the user opted out). */
  discard(phoneNumberId: string, userId: string): Promise<void>;
}

/** The pure part of `hold`: merge, keep order, and decide who sends the template. */
export function mergeHold(existing: HeldReplies | undefined, request: HoldRequest): { next: HeldReplies; sendTemplate: boolean } {
  // A hold with no replies left is over (an older version wrote empty holds): its template claim with it.
  const live = existing && existing.expiresAt > request.now && existing.replies.length > 0 ? existing : undefined;
  const known = new Set(live?.replies.map((reply) => reply.id));
  const replies = [...(live?.replies ?? []), ...request.replies.filter((reply) => !known.has(reply.id))];
  const sendTemplate = !live?.templateClaimedAt;
  const next: HeldReplies = {
    phoneNumberId: request.phoneNumberId,
    userId: request.userId,
    ...(request.phone ?? live?.phone ? { phone: request.phone ?? live?.phone } : {}),
    replies,
    templateClaimedAt: live?.templateClaimedAt ?? request.now,
    ...(live?.templateWamid ? { templateWamid: live.templateWamid } : {}),
    createdAt: live?.createdAt ?? request.now,
    expiresAt: live?.expiresAt ?? new Date(request.now.getTime() + request.ttlMs),
  };
  return { next, sendTemplate };
}
