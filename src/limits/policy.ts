/**
 * What a key may do (its own `limits`, the operator's defaults for the rest) and how the
 * answer is told to clients: `Retry-After` and the IETF RateLimit draft fields.
 */
import type { LimitName, Limits, UsageSnapshot } from '../contract/usage';
import { positiveInt } from '../config';
import { ApiError } from '../errors';
import type { KeyRecord } from '../store/keys';
import type { Admission } from './limiter';

export function limitsFor(key: KeyRecord, env: Env): Limits {
  return {
    requests_per_minute:
      key.limits.requests_per_minute ?? positiveInt(env.DEFAULT_REQUESTS_PER_MINUTE, 60),
    concurrent_streams:
      key.limits.concurrent_streams ?? positiveInt(env.DEFAULT_CONCURRENT_STREAMS, 4),
    tokens_per_day: key.limits.tokens_per_day ?? positiveInt(env.DEFAULT_TOKENS_PER_DAY, 1_000_000),
  };
}

/** Publishable keys live in web pages: each client IP gets its own, lower, request window. */
export function ipLimitFor(key: KeyRecord, env: Env): number | undefined {
  return key.kind === 'publishable'
    ? positiveInt(env.PUBLISHABLE_IP_REQUESTS_PER_MINUTE, 10)
    : undefined;
}

const secondsUntil = (at: number, now: number) => Math.max(1, Math.ceil((at - now) / 1000));

/**
 * `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers): the key's
 * minute and day windows, and for a publishable key the client IP's minute window
 * (`"ip-minute"`), which is the one that refused when the IP is over its limit.
 */
export function rateLimitHeaders(
  snapshot: UsageSnapshot,
  now = Date.now(),
): Record<string, string> {
  const { limits, used, resets, ip } = snapshot;
  const minute = secondsUntil(resets.minute, now);
  const policy = [`"minute";q=${limits.requests_per_minute};w=60`];
  const remaining = [
    `"minute";r=${Math.max(0, limits.requests_per_minute - used.requests_this_minute)};t=${minute}`,
  ];
  if (ip) {
    policy.push(`"ip-minute";q=${ip.limit};w=60`);
    remaining.push(`"ip-minute";r=${Math.max(0, ip.limit - ip.used)};t=${minute}`);
  }
  policy.push(`"day";q=${limits.tokens_per_day};w=86400`);
  remaining.push(
    `"day";r=${Math.max(0, limits.tokens_per_day - used.tokens_today)};t=${secondsUntil(resets.day, now)}`,
  );
  return { 'RateLimit-Policy': policy.join(', '), RateLimit: remaining.join(', ') };
}

function retryAfterSeconds(limit: LimitName, snapshot: UsageSnapshot, now = Date.now()): number {
  if (limit === 'tokens_per_day') return secondsUntil(snapshot.resets.day, now);
  // A turn slot frees whenever some turn ends; there is no schedule to point at.
  if (limit === 'concurrent_streams') return 1;
  return secondsUntil(snapshot.resets.minute, now);
}

function refusalMessage(
  limit: LimitName,
  snapshot: UsageSnapshot,
  ipLimit?: number,
  estimate?: number,
): string {
  const { limits } = snapshot;
  if (limit === 'tokens_per_day' && estimate !== undefined) {
    const left = Math.max(0, limits.tokens_per_day - snapshot.used.tokens_today);
    const never = estimate > limits.tokens_per_day;
    return `Rate limit reached: tokens_per_day (${limits.tokens_per_day} tokens for this key today, UTC). This turn's input is estimated at about ${estimate} tokens and ${left} are left today${left > 0 ? ' (less what turns in flight may use)' : ''}. ${never ? 'It can never fit the daily budget: send a shorter message or start a new conversation.' : 'Send a shorter message, or retry when the budget resets at 00:00 UTC.'}`;
  }
  switch (limit) {
    case 'requests_per_minute':
      return `Rate limit reached: requests_per_minute (${limits.requests_per_minute} a minute for this key). Retry after the Retry-After seconds.`;
    case 'ip_requests_per_minute':
      return `Rate limit reached: requests per minute from this client IP (${ipLimit} a minute for a publishable key). Retry after the Retry-After seconds.`;
    case 'concurrent_streams':
      return `Rate limit reached: concurrent_streams (${limits.concurrent_streams} turns in flight for this key). Wait for a turn to finish.`;
    case 'tokens_per_day':
      return `Rate limit reached: tokens_per_day (${limits.tokens_per_day} tokens for this key today, UTC). The budget resets at 00:00 UTC.`;
  }
}

/** The 429 for a refused admission, with `Retry-After` and the RateLimit fields. */
export function refusalError(admission: Admission, ipLimit?: number): ApiError {
  const limit = admission.limit ?? 'requests_per_minute';
  return new ApiError(
    'rate_limit_error',
    refusalMessage(limit, admission.snapshot, ipLimit, admission.estimate),
    429,
    {
      ...rateLimitHeaders(admission.snapshot),
      'Retry-After': String(retryAfterSeconds(limit, admission.snapshot)),
    },
  );
}
