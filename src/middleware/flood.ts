/**
 * The Workers Rate Limiting binding as a cheap, per-location flood filter for what the
 * per-key accounting cannot see: unauthenticated routes and failed authentication,
 * counted per client IP. It is approximate by design and never the accounting.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';

export async function refuseFlood(c: Context<AppEnv>): Promise<void> {
  const address = c.req.header('cf-connecting-ip') ?? 'unknown';
  const { success } = await c.env.FLOOD.limit({ key: address });
  if (!success) {
    throw new ApiError(
      'rate_limit_error',
      'Too many requests from this address. Slow down and retry in a minute.',
      429,
      {
        'Retry-After': '60',
      },
    );
  }
}

export function floodFilter(): MiddlewareHandler<AppEnv> {
  return async function floodFilter(c, next) {
    await refuseFlood(c);
    await next();
  };
}
