/**
 * What a key may do (its own `limits`, the operator's defaults for the rest; its
 * `limits.per_user` for each end user) and how the answer is told to clients: `Retry-After`
 * and the IETF RateLimit draft fields.
 */
import type { EmbedClaims } from '../contract/embed-session';
import type { EndUser, LimitName, Limits, UsageSnapshot } from '../contract/usage';
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

/**
 * An end user of the key with the key's per-user limits: only those it sets, since an end
 * user has no defaults (a limit not set is not enforced per end user; use is still counted).
 */
export function endUserOf(key: KeyRecord, id: string): EndUser {
  const { requests_per_minute, concurrent_streams, tokens_per_day } = key.limits.per_user ?? {};
  return {
    id,
    limits: {
      ...(requests_per_minute !== undefined ? { requests_per_minute } : {}),
      ...(concurrent_streams !== undefined ? { concurrent_streams } : {}),
      ...(tokens_per_day !== undefined ? { tokens_per_day } : {}),
    },
  };
}

/**
 * Publishable keys and embed tokens live in web pages: each client IP gets its own, lower,
 * request window.
 */
export function ipLimitFor(env: Env): number {
  return positiveInt(env.PUBLISHABLE_IP_REQUESTS_PER_MINUTE, 10);
}

/**
 * Whom an embed session token's requests are counted for: its end user, or the token itself
 * (`es:<token id>`) when it names none, so that every token has windows of its own. Its
 * limits are the narrower of the key's per-user ones and the token's own.
 */
export function tokenUser(key: KeyRecord, claims: EmbedClaims): EndUser {
  const user = endUserOf(key, claims.u ?? `es:${claims.id}`);
  const narrower = (name: keyof Limits) => {
    const values = [user.limits[name], claims.l?.[name]].filter((v) => v !== undefined);
    return values.length > 0 ? { [name]: Math.min(...values) } : {};
  };
  return {
    id: user.id,
    limits: {
      ...narrower('requests_per_minute'),
      ...narrower('concurrent_streams'),
      ...narrower('tokens_per_day'),
    },
  };
}

const secondsUntil = (at: number, now: number) => Math.max(1, Math.ceil((at - now) / 1000));

/**
 * `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers): the key's
 * minute and day windows; for a publishable key the client IP's minute window
 * (`"ip-minute"`), which is the one that refused when the IP is over its limit; and for a
 * request's end user the per-user windows the key sets (`"user-minute"`, `"user-day"`).
 */
export function rateLimitHeaders(
  snapshot: UsageSnapshot,
  now = Date.now(),
): Record<string, string> {
  const { limits, used, resets, ip, user } = snapshot;
  const minute = secondsUntil(resets.minute, now);
  const day = secondsUntil(resets.day, now);
  const policy: string[] = [];
  const remaining: string[] = [];
  const window = (name: string, quota: number, spent: number, seconds: number, t: number) => {
    policy.push(`"${name}";q=${quota};w=${seconds}`);
    remaining.push(`"${name}";r=${Math.max(0, quota - spent)};t=${t}`);
  };
  window('minute', limits.requests_per_minute, used.requests_this_minute, 60, minute);
  if (ip) window('ip-minute', ip.limit, ip.used, 60, minute);
  const perUser = user?.limits ?? {};
  if (user && perUser.requests_per_minute !== undefined)
    window('user-minute', perUser.requests_per_minute, user.used.requests_this_minute, 60, minute);
  window('day', limits.tokens_per_day, used.tokens_today, 86400, day);
  if (user && perUser.tokens_per_day !== undefined)
    window('user-day', perUser.tokens_per_day, user.used.tokens_today, 86400, day);
  return { 'RateLimit-Policy': policy.join(', '), RateLimit: remaining.join(', ') };
}

function retryAfterSeconds(limit: LimitName, snapshot: UsageSnapshot, now = Date.now()): number {
  if (limit === 'tokens_per_day' || limit === 'user_tokens_per_day')
    return secondsUntil(snapshot.resets.day, now);
  // A turn slot frees whenever some turn ends; there is no schedule to point at.
  if (limit === 'concurrent_streams' || limit === 'user_concurrent_streams') return 1;
  return secondsUntil(snapshot.resets.minute, now);
}

/** An end user's id as a message quotes it: opaque, but up to 256 characters. */
function quoted(id: string): string {
  return `"${id.length > 64 ? `${id.slice(0, 64)}…` : id}"`;
}

/** The refusal of one of the key's per-user limits, naming the limit and the end user. */
function userRefusalMessage(
  limit: `user_${keyof Limits}`,
  user: NonNullable<UsageSnapshot['user']>,
  estimate?: number,
): string {
  const who = `for end user ${quoted(user.id)}`;
  const budget = user.limits.tokens_per_day ?? 0;
  switch (limit) {
    case 'user_requests_per_minute':
      return `Rate limit reached: user_requests_per_minute ${who} (${user.limits.requests_per_minute} a minute per end user for this key). Retry after the Retry-After seconds.`;
    case 'user_concurrent_streams':
      return `Rate limit reached: user_concurrent_streams ${who} (${user.limits.concurrent_streams} turns in flight per end user for this key). Wait for one of their turns to finish.`;
    case 'user_tokens_per_day': {
      const head = `Rate limit reached: user_tokens_per_day ${who} (${budget} tokens per end user today, UTC, for this key).`;
      if (estimate === undefined) return `${head} The budget resets at 00:00 UTC.`;
      const left = Math.max(0, budget - user.used.tokens_today);
      const never = estimate > budget;
      return `${head} This turn's input is estimated at about ${estimate} tokens and ${left} are left for them today${left > 0 ? ' (less what their turns in flight may use)' : ''}. ${never ? 'It can never fit their daily budget: send a shorter message or start a new conversation.' : 'Send a shorter message, or retry when the budget resets at 00:00 UTC.'}`;
    }
  }
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
    case 'user_requests_per_minute':
    case 'user_concurrent_streams':
    case 'user_tokens_per_day':
      // The limiter refuses for an end user only with that end user in its snapshot.
      return snapshot.user
        ? userRefusalMessage(limit, snapshot.user, estimate)
        : `Rate limit reached: ${limit} for this request's end user.`;
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
