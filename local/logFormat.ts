import { formatLogLine } from './formatLogLine.js';

/** How `npm start` prints the functions' log lines: readable (`pretty`, the default) or exactly as written (`json`). */
export type LogFormat = 'pretty' | 'json';

export function logFormatFrom(value: string | undefined): LogFormat {
  if (value === undefined || value === '' || value === 'pretty') return 'pretty';
  if (value === 'json') return 'json';
  throw new Error(`LOG_FORMAT must be "pretty" or "json" (got "${value}")`);
}

export interface PrintedLine {
  stream: 'stdout' | 'stderr';
  text: string;
}

/**
 * Where one line a function wrote is printed, and how. `json`: a JSON line goes to stdout as it
 * is, so stdout holds exactly the structured lines Cloud Logging would ingest; anything else (the
 * framework's banner, Node's warnings) goes to stderr, named by its function. `pretty`: stdout,
 * made readable.
 */
export function printedFunctionLine(format: LogFormat, target: string, line: string): PrintedLine {
  if (format === 'pretty') return { stream: 'stdout', text: formatLogLine(`[${target}] ${line}`) };
  return isJsonObject(line) ? { stream: 'stdout', text: line } : { stream: 'stderr', text: `[${target}] ${line}` };
}

function isJsonObject(line: string): boolean {
  if (!line.startsWith('{')) return false;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
