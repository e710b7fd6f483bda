/**
 * The one log writer: a JSON object per line, on stdout for records and stderr for faults.
 * Nothing secret goes in — no keys, bodies or signatures; callers pass ids and counts.
 */

export type LogFields = Record<string, unknown>;

/** A record: a request (`event: "request"`), a turn (`event: "turn"`), a cache miss… */
export function logLine(fields: LogFields): void {
  console.log(JSON.stringify(fields));
}

/** A fault that was handled but must be seen: where it happened and what was thrown. */
export function logError(where: string, err: unknown, fields: LogFields = {}): void {
  const error = err instanceof Error ? (err.stack ?? String(err)) : String(err);
  console.error(JSON.stringify({ level: 'error', where, ...fields, error }));
}
