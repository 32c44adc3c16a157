import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { Json } from './aiplatformGrpc.js';
import type { LocalAgentReply } from './localAgent.js';

const AUTHOR = 'local_agent';

/**
 * Streams one turn as a deployed AdkApp does: each event as a line of NDJSON in an HttpBody
 * message, or, with `chunkBytes`, the NDJSON cut into chunks of that many bytes regardless of
 * line or character boundaries.
 */
export async function writeAdkEvents(
  call: grpc.ServerWritableStream<Json, Json>,
  turn: { reply: LocalAgentReply; question: string; toolEvents: boolean; chunkBytes: number | undefined },
): Promise<void> {
  const lines = adkEvents(turn.reply, turn.question, turn.toolEvents).map((event) => Buffer.from(`${JSON.stringify(event)}\n`, 'utf8'));
  const chunks: Buffer[] = [];
  if (turn.chunkBytes && turn.chunkBytes > 0) {
    const all = Buffer.concat(lines);
    for (let at = 0; at < all.length; at += turn.chunkBytes) chunks.push(all.subarray(at, at + turn.chunkBytes));
  } else {
    chunks.push(...lines);
  }
  for (const data of chunks) {
    await new Promise<void>((resolve, reject) =>
      call.write({ contentType: 'application/json', data }, (error: Error | null | undefined) =>
        error ? reject(error) : resolve(),
      ),
    );
  }
}

/** The events an ADK LlmAgent yields for one turn, snake_case without None fields like model_dump_json(exclude_none=True). */
function adkEvents(reply: LocalAgentReply, question: string, toolEvents: boolean): Json[] {
  const invocationId = `e-${randomUUID()}`;
  const base = () => ({
    invocation_id: invocationId,
    author: AUTHOR,
    actions: { state_delta: {}, artifact_delta: {}, requested_auth_configs: {}, requested_tool_confirmations: {} },
    id: randomUUID().slice(0, 8),
    timestamp: Date.now() / 1000,
  });
  // ADK runs each tool between the model's events: the call, then its result (authored by the agent, role user).
  const toolRound = (name: string, args: Json, result: unknown): Json[] => {
    const callId = `adk-${randomUUID()}`;
    return [
      { content: { parts: [{ function_call: { id: callId, args, name } }], role: 'model' }, ...base(), long_running_tool_ids: [] },
      { content: { parts: [{ function_response: { id: callId, name, response: { result } } }], role: 'user' }, ...base() },
    ];
  };
  const textEvent = (text: string): Json => ({
    content: { parts: [{ text }], role: 'model' },
    usage_metadata: {
      candidates_token_count: Math.ceil(text.length / 4),
      prompt_token_count: 250,
      total_token_count: 250 + Math.ceil(text.length / 4),
    },
    ...base(),
  });
  const events: Json[] = toolEvents ? toolRound('search_knowledge_base', { query: question }, 'no matching articles') : [];
  const parts = typeof reply === 'string' ? (reply ? [{ text: reply }] : []) : reply;
  for (const part of parts) {
    events.push(...('call' in part ? toolRound(part.call, part.args, 'sent to the user') : [textEvent(part.text)]));
  }
  return events;
}
