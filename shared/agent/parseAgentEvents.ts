/** One piece of the agent's turn, in the order the agent produced it. */
export type AgentReplyPart =
  | { kind: 'text'; text: string }
  /** A `function_call` part: the bridge renders the calls of its own tools and ignores the agent's other tools. */
  | { kind: 'tool_call'; name: string; args: Record<string, unknown> };

/** What one agent turn produced, read from its stream of ADK events. */
export interface AgentEvents {
  /** The reply for the user; empty when the agent said nothing. */
  text: string;
  /** Text runs and tool calls in stream order; text of consecutive events is joined with a blank line. */
  parts: AgentReplyPart[];
  /** The last error the agent reported in-band (an event's error_code, or an error line). */
  error?: { code: string; message: string };
  /** How many JSON lines were read, for diagnosing empty replies. */
  eventCount: number;
}

export interface AgentEventParser {
  /** Feeds the `data` of one HttpBody chunk; lines and UTF-8 characters may span chunks. */
  push(data: Uint8Array): void;
  finish(): AgentEvents;
}

type Json = Record<string, unknown>;

/**
 * Reads the NDJSON (or SSE `data:`) ADK events of async_stream_query. The reply
 * joins the text parts of every non-partial event not authored by the user, so a
 * multi-agent hand-off keeps each agent's words; tool calls stay in place between
 * the texts, while tool results and thoughts are dropped. Keys are snake_case on the
 * wire; camelCase is accepted too.
 */
export function parseAgentEvents(): AgentEventParser {
  const decoder = new TextDecoder('utf-8');
  const parts: AgentReplyPart[] = [];
  // The line being received, in pieces: joined once, when its newline arrives (a long event in many
  // chunks costs linear time, not a rescan of everything so far per chunk).
  let pending: string[] = [];
  let eventCount = 0;
  let error: AgentEvents['error'];

  const readLine = (rawLine: string): void => {
    let line = rawLine.trim();
    if (line.startsWith('data:')) line = line.slice('data:'.length).trim();
    if (!line.startsWith('{')) return;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    if (!isObject(event)) return;
    eventCount += 1;
    error = errorOf(event) ?? error;
    for (const part of partsOf(event)) append(parts, part);
  };

  const take = (text: string): void => {
    const lines = text.split('\n');
    if (lines.length === 1) {
      pending.push(text);
      return;
    }
    readLine(pending.join('') + lines[0]);
    for (const line of lines.slice(1, -1)) readLine(line);
    pending = [lines.at(-1)!];
  };

  return {
    push(data) {
      take(decoder.decode(data, { stream: true }));
    },
    finish() {
      take(decoder.decode());
      readLine(pending.join(''));
      pending = [];
      const text = parts.flatMap((part) => (part.kind === 'text' ? [part.text] : [])).join('\n\n');
      return { text, parts, eventCount, error };
    },
  };
}

/** The event's text runs and function calls in order; text parts next to each other are joined without a separator. */
function partsOf(event: Json): AgentReplyPart[] {
  if (event.partial === true || event.author === 'user') return [];
  const content = event.content;
  if (!isObject(content) || !Array.isArray(content.parts)) return [];
  const result: AgentReplyPart[] = [];
  let run = '';
  const flush = () => {
    const text = run.trim();
    if (text) result.push({ kind: 'text', text });
    run = '';
  };
  for (const part of content.parts.filter(isObject)) {
    const call = part.function_call ?? part.functionCall;
    if (isObject(call)) {
      flush();
      if (typeof call.name === 'string' && call.name) {
        result.push({ kind: 'tool_call', name: call.name, args: isObject(call.args) ? call.args : {} });
      }
      continue;
    }
    if (isToolPart(part) || part.thought === true) continue;
    if (typeof part.text === 'string') run += part.text;
  }
  flush();
  return result;
}

/** Text that follows text from an earlier event continues the same run, a blank line apart. */
function append(parts: AgentReplyPart[], part: AgentReplyPart): void {
  const last = parts.at(-1);
  if (part.kind === 'text' && last?.kind === 'text') {
    last.text = `${last.text}\n\n${part.text}`;
    return;
  }
  parts.push(part);
}

function isToolPart(part: Json): boolean {
  return (
    part.function_call !== undefined ||
    part.functionCall !== undefined ||
    part.function_response !== undefined ||
    part.functionResponse !== undefined
  );
}

function errorOf(event: Json): AgentEvents['error'] {
  const code = event.error_code ?? event.errorCode;
  const message = event.error_message ?? event.errorMessage;
  if (code !== undefined || message !== undefined) {
    return { code: code === undefined ? 'UNKNOWN' : String(code), message: message === undefined ? '' : String(message) };
  }
  // Some runtimes report a failure as a bare `{code, message}` line rather than an ADK event.
  if (typeof event.code === 'number' && event.code >= 400 && event.author === undefined) {
    return { code: String(event.code), message: typeof event.message === 'string' ? event.message : '' };
  }
  return undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
