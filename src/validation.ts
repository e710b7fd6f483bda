/**
 * Request-body parsing shared by every route: JSON with a clear 400 when it is not, and
 * zod issues rendered as "field.path: what is wrong".
 */
import type { Context } from 'hono';
import type * as z from './zod';
import { invalid } from './errors';

export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') throw invalid('The request body is empty. Send a JSON object.');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalid(
      `The request body is not valid JSON (${(err as Error).message}). Send a JSON object.`,
    );
  }
}

export function parseWith<T extends z.ZodMiniType>(schema: T, value: unknown): z.output<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('The request body must be a JSON object.');
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 3).map((issue) => {
    const path = issue.path.join('.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  throw invalid(issues.join('; '));
}
