/**
 * A key's limits and what it has used, as `GET /v1/usage`, the RateLimit fields and the
 * 429 messages report them (API.md §4); and the same for one end user of the key (a
 * request's `user`) under the key's `limits.per_user`.
 */

export interface Limits {
  requests_per_minute: number;
  concurrent_streams: number;
  tokens_per_day: number;
}

export type LimitName =
  | keyof Limits
  | 'ip_requests_per_minute'
  /** The key's `limits.per_user`, for the request's end user. */
  | `user_${keyof Limits}`;

/** An end user of a key, and the key's limits for each end user (only those it sets). */
export interface EndUser {
  id: string;
  limits: Partial<Limits>;
}

/** What a key, or one of its end users, has used in the current minute and UTC day. */
export interface Used {
  requests_this_minute: number;
  open_streams: number;
  tokens_today: number;
  /** Of tokens_today: prompt-cache writes and reads (also counted in tokens_today). */
  cache_creation_input_tokens_today: number;
  cache_read_input_tokens_today: number;
}

/** What the limiter reports after each check: the key's state and when each window resets. */
export interface UsageSnapshot {
  limits: Limits;
  used: Used;
  /** Epoch milliseconds. */
  resets: { minute: number; day: number };
  /** A publishable key's window for the calling client IP (same minute as the key's). */
  ip?: { limit: number; used: number };
  /** The request's end user, on the same minute and day as the key's. */
  user?: EndUser & { used: Used };
}

/** What one turn is charged: every token, and the cache part of it for reporting. */
export interface TokenCharge {
  tokens: number;
  cache_creation: number;
  cache_read: number;
}
