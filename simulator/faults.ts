// `[sim:fail=…]` faults that answer with an error status before any byte of the response.

import type { Fault } from './directives';
import { SimError } from './errors';

/** A small FIFO set of request-body hashes, for `overloaded_once`. */
export class SeenBodies {
  private readonly seen = new Set<string>();
  constructor(private readonly limit = 10_000) {}

  /** True the first time `hash` is offered. */
  firstTime(hash: string): boolean {
    if (this.seen.has(hash)) return false;
    this.seen.add(hash);
    if (this.seen.size > this.limit) this.seen.delete(this.seen.values().next().value!);
    return true;
  }
}

/** The error a fault raises up front, if any (streaming-only faults return null when streaming). */
export function upfrontFault(
  fault: Fault | undefined,
  stream: boolean,
  firstTime: () => boolean,
): SimError | null {
  switch (fault) {
    case 'overloaded':
      return new SimError('overloaded_error', 'Overloaded');
    case 'overloaded_once':
      return firstTime() ? new SimError('overloaded_error', 'Overloaded') : null;
    case 'rate_limit':
      return new SimError(
        'rate_limit_error',
        "This request would exceed your organization's rate limit. Please try again later.",
      );
    case 'rate_limit_retry_after':
      return new SimError(
        'rate_limit_error',
        "This request would exceed your organization's rate limit. Please try again later.",
        { 'retry-after': '1' },
      );
    case 'api_error':
      return new SimError('api_error', 'Internal server error');
    case 'auth':
      return new SimError('authentication_error', 'invalid x-api-key');
    case 'midstream_error':
      // Without a stream there is no "mid": the same overload surfaces as a status.
      return stream ? null : new SimError('overloaded_error', 'Overloaded');
    default:
      return null;
  }
}
