import type { z } from 'zod';

/**
 * Reads one argument of a tool call. A missing or malformed value is `undefined` and, unless
 * the argument is optional and absent, leaves a reason in `problems` for the log line.
 */
export function readToolArg<T>(
  args: Record<string, unknown>,
  name: string,
  schema: z.ZodType<T>,
  problems: string[],
  { optional = false } = {},
): T | undefined {
  const value = args[name];
  if (value === undefined || value === null) {
    if (!optional) problems.push(`${name} is missing`);
    return undefined;
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  problems.push(`${name} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  return undefined;
}
