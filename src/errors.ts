/**
 * One error type for the whole service, in the Messages API's own shape:
 * `{"type":"error","error":{"type","message"},"request_id"}`. Thrown anywhere, rendered in
 * one place (middleware/render-error.ts); it crosses a Durable Object's RPC boundary as
 * plain data (`toJSON` / `ApiError.from`), because an Error's own fields do not survive it.
 */

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

/** An `ApiError` as plain data, for RPC. */
export interface ApiErrorJson {
  type: string;
  message: string;
  status: number;
  headers: Record<string, string>;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly type: ErrorType | (string & {}),
    message: string,
    status?: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status ?? statusFor(type);
  }

  toJSON(): ApiErrorJson {
    return { type: this.type, message: this.message, status: this.status, headers: this.headers };
  }

  static from({ type, message, status, headers }: ApiErrorJson): ApiError {
    return new ApiError(type, message, status, headers);
  }
}

/** The status the Messages API uses for an error type; 500 for a type it does not list. */
export function statusFor(type: string): number {
  return ERROR_STATUS[type as ErrorType] ?? 500;
}

export function invalid(message: string): ApiError {
  return new ApiError('invalid_request_error', message);
}

export function errorBody(type: string, message: string, requestId: string) {
  return { type: 'error' as const, error: { type, message }, request_id: requestId };
}
