// API error shapes: `{"type":"error","error":{"type","message"},"request_id"}` with the API's
// HTTP status per error type (reference §4.1).

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

const STATUS: Record<ErrorType, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

export class SimError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Shorthand for the common 400. */
export function invalid(message: string): SimError {
  return new SimError('invalid_request_error', message);
}

export function errorResponse(err: SimError, requestId: string): Response {
  const body = {
    type: 'error',
    error: { type: err.type, message: err.message },
    request_id: requestId,
  };
  return new Response(JSON.stringify(body), {
    status: STATUS[err.type],
    headers: { 'content-type': 'application/json', 'request-id': requestId, ...err.headers },
  });
}
