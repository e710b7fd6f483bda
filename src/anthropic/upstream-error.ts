/**
 * Maps whatever the SDK throws into our one error type, keeping the upstream's own error
 * `type`, status and `retry-after` so clients can act on them. Never includes the upstream
 * key or request headers.
 */
import { APIConnectionError, APIError, APIUserAbortError } from '@anthropic-ai/sdk/core/error';
import { ApiError, ERROR_STATUS, type ErrorType } from '../errors';
import { MalformedEvent } from './events';

export function upstreamError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof MalformedEvent) {
    return new ApiError('api_error', `${err.message}. Send the turn again.`);
  }
  if (err instanceof APIUserAbortError) {
    return new ApiError('api_error', 'The request to Claude was cancelled.');
  }
  if (err instanceof APIConnectionError) {
    return new ApiError(
      'api_error',
      'Could not reach Claude (connection failed or timed out). Send the turn again.',
    );
  }
  if (err instanceof APIError) {
    const type = err.type ?? typeForStatus(err.status);
    const message = err.apiMessage ?? err.message;
    // A rejected upstream credential is the operator's problem, not the client's.
    if (
      err.status === 401 ||
      err.status === 403 ||
      type === 'authentication_error' ||
      type === 'permission_error'
    ) {
      return new ApiError(
        'api_error',
        'The gateway could not authenticate with Claude. The operator must check ANTHROPIC_API_KEY.',
      );
    }
    const headers: Record<string, string> = {};
    const retryAfter = err.headers?.get('retry-after');
    if (retryAfter) headers['retry-after'] = retryAfter;
    const status = err.status ?? ERROR_STATUS[type as ErrorType] ?? 500;
    return new ApiError(type, `Claude answered: ${message}`, status, headers);
  }
  return new ApiError('api_error', 'Unexpected error while talking to Claude.');
}

function typeForStatus(status: number | undefined): string {
  for (const [type, s] of Object.entries(ERROR_STATUS)) if (s === status) return type;
  return 'api_error';
}
