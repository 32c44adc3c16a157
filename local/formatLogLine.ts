const SHOWN_FIELDS = ['wamid', 'user', 'reason', 'outcome', 'attempt', 'chunks', 'replyLatencyMs', 'agentMs', 'graphErrorCode', 'grpcCode'];

/** Makes a function's Cloud Logging JSON line readable in a terminal; other lines pass through. */
export function formatLogLine(line: string): string {
  const [, prefix = '', json] = /^(\[\w+\] )?(\{.*)$/.exec(line) ?? [];
  if (!json) return line;
  try {
    const entry = JSON.parse(json) as Record<string, unknown>;
    const fields = SHOWN_FIELDS.filter((key) => entry[key] !== undefined)
      .map((key) => `${key}=${typeof entry[key] === 'string' ? entry[key] : JSON.stringify(entry[key])}`)
      .join(' ');
    return `${prefix}${String(entry.severity ?? 'INFO').padEnd(7)} ${String(entry.message ?? '')}${fields ? `  ${fields}` : ''}`;
  } catch {
    return line;
  }
}
