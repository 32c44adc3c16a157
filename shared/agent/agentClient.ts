import type { AgentMedia } from '../media/agentMedia.js';
import type { AgentReplyPart } from './parseAgentEvents.js';

/** A user's turn as the agent receives it. */
export interface AgentTurn {
  /** Agent Engine user id (stable per WhatsApp user). */
  userId: string;
  sessionId: string;
  /** Text for the agent; media parts go alongside when the agent accepts them. */
  text: string;
  /** Attachments: `gs://` objects (file_data parts) or inline bytes. */
  media?: AgentMedia[];
}

/**
 * The seam to Vertex AI Agent Engine. Implementations throw RetryableError or
 * PermanentError (shared/errors.ts); a session that no longer exists is a
 * SessionNotFoundError so the caller can create a new one and try once more.
 */
export interface AgentClient {
  createSession(userId: string): Promise<string>;
  /** Runs one turn and returns its text and WhatsApp tool calls in stream order (never without something to send). */
  query(turn: AgentTurn): Promise<AgentReplyPart[]>;
  deleteSession(userId: string, sessionId: string): Promise<void>;
  /** Releases connections; the client is not used afterwards. */
  close?(): Promise<void>;
}

export class SessionNotFoundError extends Error {
  override name = 'SessionNotFoundError';
}
