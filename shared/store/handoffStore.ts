import type { ConversationKey } from '../core/burstTurns.js';
import { isPaused, resume, type Handoff } from '../core/handoff.js';
import { appendEntry, type StoredTranscript, type TranscriptEntry } from '../core/resumeTranscript.js';

/**
 * `handoffs/{phoneNumberId}:{userId}`: a human has (or had) this conversation. The record holds
 * the pause and what was said during it (the user's messages and the staff's, bounded), and
 * lives on after the pause ends until the first turn after it has carried the transcript to the
 * agent. Expires (TTL) `HANDOFF_RETENTION_MS` after the pause's end or the latest change,
 * whichever is later: a transcript nobody came back for is not needed.
 */
export interface HandoffRecord extends Handoff, StoredTranscript {
  phoneNumberId: string;
  userId: string;
  phone?: string;
  updatedAt: Date;
  expiresAt: Date;
}

export interface HandoffKey extends ConversationKey {
  /** The user's wa_id when known (the admin views find users by number). */
  phone?: string;
}

export const HANDOFF_RETENTION_MS = 7 * 24 * 3600_000;

export interface PausedPage {
  handoffs: HandoffRecord[];
  nextPageToken?: string;
}

export interface HandoffStore {
  /** The conversation's record, paused or waiting to hand its transcript over; an expired one reads as none. */
  get(key: ConversationKey, now: Date): Promise<HandoffRecord | undefined>;
  /**
   * Changes the pause in one transaction (start, renew, staff activity: the pure functions of
   * shared/core/handoff.ts), adding `entry` to the transcript when given (a staff message).
   */
  pause(key: HandoffKey, change: (current: Handoff | undefined) => Handoff, now: Date, entry?: TranscriptEntry): Promise<HandoffRecord>;
  /** An operator ends the pause now. Undefined when none was active. */
  resume(key: ConversationKey, now: Date): Promise<HandoffRecord | undefined>;
  /**
   * Adds a turn's messages (one, or a burst's) to the transcript in one transaction if, on fresh
   * data, the conversation is still paused; false when it is not, and then none is added (the
   * pause ended meanwhile: the messages get their turn, and must not also sit in the transcript).
   */
  recordWhilePaused(key: ConversationKey, entries: readonly TranscriptEntry[], now: Date): Promise<boolean>;
  /**
   * The first turn after a pause has carried these entries to the agent: they are dropped, and
   * the record with them unless a new pause started meanwhile.
   */
  transcriptDelivered(key: ConversationKey, entryIds: readonly string[], now: Date): Promise<void>;
  /** Paused conversations, the soonest to resume first. Throws InvalidPageTokenError for a token it did not issue. */
  listPaused(options: { now: Date; limit: number; pageToken?: string }): Promise<PausedPage>;
  /** The paused conversations (one per business number) of these users, found by user id or number, for the admin views. */
  listPausedForUsers(userIdsOrPhones: readonly string[], now: Date): Promise<HandoffRecord[]>;
}

/** The pure part of `pause`: the changed pause over the live record, with the entry added. */
export function applyPause(
  existing: HandoffRecord | undefined,
  key: HandoffKey,
  change: (current: Handoff | undefined) => Handoff,
  now: Date,
  entry?: TranscriptEntry,
): HandoffRecord {
  const live = liveRecord(existing, now);
  const handoff = change(live && handoffOf(live));
  const transcript = entry ? appendEntry(transcriptOf(live), entry) : transcriptOf(live);
  return toRecord(key, live, handoff, transcript, now);
}

/** The pure part of `resume`. */
export function applyResume(existing: HandoffRecord | undefined, now: Date): HandoffRecord | undefined {
  const live = liveRecord(existing, now);
  if (!isPaused(live, now)) return undefined;
  return toRecord(live, live, resume(handoffOf(live), now)!, transcriptOf(live), now);
}

/** The pure part of `recordWhilePaused`: the record with all the entries, or undefined when not paused. */
export function applyPausedEntries(existing: HandoffRecord | undefined, entries: readonly TranscriptEntry[], now: Date): HandoffRecord | undefined {
  const live = liveRecord(existing, now);
  if (!isPaused(live, now)) return undefined;
  return toRecord(live, live, handoffOf(live), entries.reduce((transcript, entry) => appendEntry(transcript, entry), transcriptOf(live)), now);
}

/** The pure part of `transcriptDelivered`: the record still needed, or undefined to delete it. */
export function applyTranscriptDelivered(existing: HandoffRecord | undefined, entryIds: readonly string[], now: Date): HandoffRecord | undefined {
  const live = liveRecord(existing, now);
  if (!live) return undefined;
  const delivered = new Set(entryIds);
  const entries = live.entries.filter((entry) => !delivered.has(entry.id));
  if (!isPaused(live, now) && entries.length === 0) return undefined;
  return toRecord(live, live, handoffOf(live), { entries, omitted: entries.length === live.entries.length ? live.omitted : 0 }, now);
}

export function liveRecord(record: HandoffRecord | undefined, now: Date): HandoffRecord | undefined {
  return record && record.expiresAt.getTime() > now.getTime() ? record : undefined;
}

function handoffOf(record: HandoffRecord): Handoff {
  const { since, until, by, reason, fixedUntil, endedAt } = record;
  return { since, until, by, reason, ...(fixedUntil ? { fixedUntil } : {}), endedAt };
}

function transcriptOf(record: HandoffRecord | undefined): StoredTranscript {
  return { entries: record?.entries ?? [], omitted: record?.omitted ?? 0 };
}

function toRecord(key: HandoffKey, live: HandoffRecord | undefined, handoff: Handoff, transcript: StoredTranscript, now: Date): HandoffRecord {
  const phone = key.phone ?? live?.phone;
  return {
    phoneNumberId: key.phoneNumberId,
    userId: key.userId,
    phone,
    ...handoff,
    ...transcript,
    updatedAt: now,
    expiresAt: new Date(Math.max(handoff.until.getTime(), now.getTime()) + HANDOFF_RETENTION_MS),
  };
}
