/**
 * One error type for the whole service, rendered in one place in the Messages API's own
 * shape: `{"type":"error","error":{"type","message"},"request_id"}`.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from './env';

export const ERROR_STATUS = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  conflict_error: 409,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
} as const;

export type ErrorType = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly type: ErrorType | (string & {}),
    message: string,
    status?: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status ?? ERROR_STATUS[type as ErrorType] ?? 500;
  }
}

export function invalid(message: string): ApiError {
  return new ApiError('invalid_request_error', message);
}

export function errorBody(type: string, message: string, requestId: string) {
  return { type: 'error' as const, error: { type, message }, request_id: requestId };
}

/** `app.onError`: ApiErrors as they are; anything else is a bug, logged and shown as a plain 500. */
export function renderError(err: Error, c: Context<AppEnv>): Response {
  const requestId = c.get('requestId') ?? 'req_unknown';
  let apiError: ApiError;
  if (err instanceof ApiError) {
    apiError = err;
  } else if (err instanceof HTTPException && err.status < 500) {
    // Hono's own middleware (e.g. malformed JSON seen by its validators) signals with this.
    apiError = new ApiError('invalid_request_error', err.message || 'Bad request', err.status);
  } else {
    console.error(
      JSON.stringify({ level: 'error', request_id: requestId, error: String(err?.stack ?? err) }),
    );
    apiError = new ApiError(
      'api_error',
      'Internal server error. Quote the request_id when reporting it.',
    );
  }
  return c.json(errorBody(apiError.type, apiError.message, requestId), apiError.status as 400, {
    ...apiError.headers,
    'request-id': requestId,
  });
}
