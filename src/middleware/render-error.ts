/**
 * `app.onError`: an `ApiError` is rendered as it is; anything else is a bug, logged with the
 * request id and shown as a plain 500 — never a catch-all that turns bugs into 400s.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../env';
import { ApiError, errorBody } from '../errors';
import { logError } from '../log';

export function renderError(err: Error, c: Context<AppEnv>): Response {
  const requestId = c.get('requestId') ?? 'req_unknown';
  let apiError: ApiError;
  if (err instanceof ApiError) {
    apiError = err;
  } else if (err instanceof HTTPException && err.status < 500) {
    // Hono's own middleware (e.g. malformed JSON seen by its validators) signals with this.
    apiError = new ApiError('invalid_request_error', err.message || 'Bad request', err.status);
  } else {
    logError('request', err, { request_id: requestId });
    apiError = new ApiError(
      'api_error',
      'Internal server error. Quote the request_id when reporting it.',
    );
  }
  c.get('log').error_type = apiError.type;
  return c.json(errorBody(apiError.type, apiError.message, requestId), apiError.status as 400, {
    ...apiError.headers,
    'request-id': requestId,
  });
}
