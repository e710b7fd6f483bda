/**
 * Request-body parsing shared by every route: JSON with a clear 400 when it is not, and
 * zod issues rendered as "field.path: what is wrong".
 */
import { invalid } from '../errors';
import type * as z from './zod';

/**
 * Deepest nesting of objects and arrays a body may have. Real tool schemas and content
 * stay far below it; past a few thousand levels, handing the body to a Durable Object
 * overflows the stack (a 500 that hides a client mistake).
 */
const MAX_JSON_DEPTH = 64;

/** A request body's text as JSON, or the 400 that says what is wrong with it. */
export function parseJson(text: string): unknown {
  if (text.trim() === '') throw invalid('The request body is empty. Send a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid(
      `The request body is not valid JSON (${(err as Error).message}). Send a JSON object.`,
    );
  }
  if (nestingExceeds(text, MAX_JSON_DEPTH)) {
    throw invalid(
      `The request body nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep. Flatten it (a tool's input_schema or a content block, most likely).`,
    );
  }
  return value;
}

/** One pass over valid JSON text, counting brackets outside strings: linear, no recursion. */
function nestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c /* \ */) i++;
      else if (ch === 0x22 /* " */) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) depth--;
  }
  return false;
}

export function parseWith<T extends z.ZodMiniType>(schema: T, value: unknown): z.output<T> {
  return check(schema, value).data;
}

/**
 * Validates a body against a schema without transforms and hands back the client's own
 * value, not zod's copy: zod rebuilds objects by assignment, which drops a `__proto__` key
 * (JSON.parse keeps it as an ordinary property), and tools and content blocks must reach
 * Claude exactly as sent — it binds thinking signatures to them.
 */
export function validateWith<T extends z.ZodMiniType>(schema: T, value: unknown): z.output<T> {
  check(schema, value);
  return value as z.output<T>;
}

function check<T extends z.ZodMiniType>(schema: T, value: unknown) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('The request body must be a JSON object.');
  }
  const result = schema.safeParse(value);
  if (result.success) return result;
  const issues = result.error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  throw invalid(issues.join('; '));
}
