/** What one agent turn produced, read from its stream of ADK events. */
export interface AgentEvents {
  /** The reply for the user; empty when the agent said nothing. */
  text: string;
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
 * multi-agent hand-off keeps each agent's words; tool calls, tool results and
 * thoughts are dropped. Keys are snake_case on the wire; camelCase is accepted too.
 */
export function parseAgentEvents(): AgentEventParser {
  const decoder = new TextDecoder('utf-8');
  const texts: string[] = [];
  let pending = '';
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
    const text = textOf(event);
    if (text) texts.push(text);
  };

  const drain = (): void => {
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      readLine(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  };

  return {
    push(data) {
      pending += decoder.decode(data, { stream: true });
      drain();
    },
    finish() {
      pending += decoder.decode();
      drain();
      readLine(pending);
      pending = '';
      return { text: texts.join('\n\n'), eventCount, error };
    },
  };
}

function textOf(event: Json): string {
  if (event.partial === true || event.author === 'user') return '';
  const content = event.content;
  if (!isObject(content) || !Array.isArray(content.parts)) return '';
  return content.parts
    .filter(isObject)
    .filter((part) => !isToolPart(part) && part.thought !== true)
    .map((part) => (typeof part.text === 'string' ? part.text : ''))
    .join('')
    .trim();
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
