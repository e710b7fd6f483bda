/**
 * What a key may do and how refusals are told (src/limits/policy.ts): key limits over the
 * operator's defaults, the per-IP window for publishable keys only, the RateLimit /
 * RateLimit-Policy fields, and the 429 with Retry-After. No test reads the wall clock:
 * `rateLimitHeaders` gets an explicit `now`, and `refusalError` (which reads the clock
 * itself) runs under a fixed system time.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LimitName, UsageSnapshot } from '../../src/contract/usage';
import { ApiError } from '../../src/errors';
import { countInput } from '../../src/limits/admission';
import type { Admission } from '../../src/limits/limiter';
import { endUserOf, limitsFor, rateLimitHeaders, refusalError } from '../../src/limits/policy';
import type { KeyRecord } from '../../src/store/keys';

const key = (over: Partial<KeyRecord> = {}): KeyRecord => ({
  id: 'key_test',
  name: 'test',
  kind: 'secret',
  allowed_origins: [],
  limits: {},
  prefix: 'sk_test',
  created_at: '2026-01-01T00:00:00.000Z',
  ...over,
});
const env = (vars: Record<string, string>) => vars as unknown as Env;

const DEFAULTS = { requests_per_minute: 60, concurrent_streams: 4, tokens_per_day: 1_000_000 };

describe('limitsFor: the key limits, else the operator defaults, else the built-in ones', () => {
  it.each<{
    name: string;
    limits: KeyRecord['limits'];
    vars: Record<string, string>;
    want: object;
  }>([
    { name: 'no key limits and no vars: 60 / 4 / 1,000,000', limits: {}, vars: {}, want: DEFAULTS },
    {
      name: 'no key limits: the operator vars',
      limits: {},
      vars: {
        DEFAULT_REQUESTS_PER_MINUTE: '120',
        DEFAULT_CONCURRENT_STREAMS: '8',
        DEFAULT_TOKENS_PER_DAY: '5000',
      },
      want: { requests_per_minute: 120, concurrent_streams: 8, tokens_per_day: 5000 },
    },
    {
      name: 'key limits win over the operator vars',
      limits: { requests_per_minute: 7, concurrent_streams: 2, tokens_per_day: 999 },
      vars: {
        DEFAULT_REQUESTS_PER_MINUTE: '120',
        DEFAULT_CONCURRENT_STREAMS: '8',
        DEFAULT_TOKENS_PER_DAY: '5000',
      },
      want: { requests_per_minute: 7, concurrent_streams: 2, tokens_per_day: 999 },
    },
    {
      name: 'each field on its own: the key one where set, the var where not',
      limits: { concurrent_streams: 1 },
      vars: { DEFAULT_REQUESTS_PER_MINUTE: '30', DEFAULT_CONCURRENT_STREAMS: '8' },
      want: { requests_per_minute: 30, concurrent_streams: 1, tokens_per_day: 1_000_000 },
    },
    {
      name: 'non-numeric vars fall back to the built-in defaults',
      limits: {},
      vars: {
        DEFAULT_REQUESTS_PER_MINUTE: 'lots',
        DEFAULT_CONCURRENT_STREAMS: 'four',
        DEFAULT_TOKENS_PER_DAY: 'unlimited',
      },
      want: DEFAULTS,
    },
    {
      name: 'zero and negative vars fall back to the built-in defaults',
      limits: {},
      vars: {
        DEFAULT_REQUESTS_PER_MINUTE: '0',
        DEFAULT_CONCURRENT_STREAMS: '-3',
        DEFAULT_TOKENS_PER_DAY: '-1000',
      },
      want: DEFAULTS,
    },
    {
      name: 'empty vars fall back to the built-in defaults',
      limits: {},
      vars: {
        DEFAULT_REQUESTS_PER_MINUTE: '',
        DEFAULT_CONCURRENT_STREAMS: '',
        DEFAULT_TOKENS_PER_DAY: '',
      },
      want: DEFAULTS,
    },
  ])('$name', ({ limits, vars, want }) => {
    expect(limitsFor(key({ limits }), env(vars))).toEqual(want);
  });

  // An operator writing the budget with separators or in e-notation means a million, not
  // 1 (parseInt's reading); something that is no whole number takes the default.
  it.each([
    { name: 'scientific notation', value: '1e6', want: 1_000_000 },
    { name: 'underscore separators', value: '1_000_000', want: 1_000_000 },
    { name: 'comma separators', value: '1,000,000', want: 1_000_000 },
    { name: 'a fraction', value: '2.5', want: 1_000_000 },
    { name: 'trailing junk', value: '500k', want: 1_000_000 },
    { name: 'blank', value: '  ', want: 1_000_000 },
  ])('reads DEFAULT_TOKENS_PER_DAY written as $name ("$value") as $want', ({ value, want }) => {
    expect(limitsFor(key(), env({ DEFAULT_TOKENS_PER_DAY: value })).tokens_per_day).toBe(want);
  });
});

describe('countInput: a per-IP window for publishable keys only (and embed tokens, by the caller)', () => {
  it.each<{
    name: string;
    kind: KeyRecord['kind'];
    vars: Record<string, string>;
    want: number | undefined;
  }>([
    {
      name: 'a secret key has none, even with the var set',
      kind: 'secret',
      vars: { PUBLISHABLE_IP_REQUESTS_PER_MINUTE: '25' },
      want: undefined,
    },
    { name: 'a secret key has none without the var', kind: 'secret', vars: {}, want: undefined },
    { name: 'a publishable key gets 10 by default', kind: 'publishable', vars: {}, want: 10 },
    {
      name: 'a publishable key gets the operator var',
      kind: 'publishable',
      vars: { PUBLISHABLE_IP_REQUESTS_PER_MINUTE: '25' },
      want: 25,
    },
    {
      name: 'a publishable key gets 10 when the var is malformed',
      kind: 'publishable',
      vars: { PUBLISHABLE_IP_REQUESTS_PER_MINUTE: 'ten' },
      want: 10,
    },
    {
      name: 'a publishable key gets 10 when the var is zero',
      kind: 'publishable',
      vars: { PUBLISHABLE_IP_REQUESTS_PER_MINUTE: '0' },
      want: 10,
    },
  ])('$name', ({ kind, vars, want }) => {
    expect(countInput(env(vars), key({ kind }), '192.0.2.1').ip?.limit).toBe(want);
  });
});

describe('endUserOf: an end user with the per-user limits the key sets, and no defaults', () => {
  it.each<{ name: string; limits: KeyRecord['limits']; want: object }>([
    { name: 'a key with no per_user: no limits at all', limits: {}, want: {} },
    {
      name: "the key's own limits never become per-user ones",
      limits: { requests_per_minute: 5, tokens_per_day: 100 },
      want: {},
    },
    {
      name: 'each per_user limit that is set, and only those',
      limits: { per_user: { concurrent_streams: 1, tokens_per_day: 2000 } },
      want: { concurrent_streams: 1, tokens_per_day: 2000 },
    },
  ])('$name', ({ limits, want }) => {
    expect(endUserOf(key({ limits }), 'u_1')).toEqual({ id: 'u_1', limits: want });
  });
});

/** A fixed instant, 12:00:00 UTC on some day: 12 hours to the day's reset. */
const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);
const DAY_RESET = Date.UTC(2026, 5, 16);

const snapshot = (
  over: {
    limits?: Partial<UsageSnapshot['limits']>;
    used?: Partial<UsageSnapshot['used']>;
    resets?: Partial<UsageSnapshot['resets']>;
    ip?: UsageSnapshot['ip'];
    user?: { limits: Partial<UsageSnapshot['limits']>; used?: Partial<UsageSnapshot['used']> };
  } = {},
): UsageSnapshot => ({
  limits: { ...DEFAULTS, ...over.limits },
  used: {
    requests_this_minute: 0,
    open_streams: 0,
    tokens_today: 0,
    cache_creation_input_tokens_today: 0,
    cache_read_input_tokens_today: 0,
    ...over.used,
  },
  resets: { minute: NOW + 60_000, day: DAY_RESET, ...over.resets },
  ...(over.ip ? { ip: over.ip } : {}),
  ...(over.user
    ? {
        user: {
          id: 'u_1',
          limits: over.user.limits,
          used: {
            requests_this_minute: 0,
            open_streams: 0,
            tokens_today: 0,
            cache_creation_input_tokens_today: 0,
            cache_read_input_tokens_today: 0,
            ...over.user.used,
          },
        },
      }
    : {}),
});

describe('rateLimitHeaders: the IETF RateLimit fields', () => {
  it.each<{ name: string; snap: UsageSnapshot; policy: string; remaining: string }>([
    {
      name: 'a secret key: the minute and day windows',
      snap: snapshot({
        used: { requests_this_minute: 5, tokens_today: 1000 },
        resets: { minute: NOW + 30_000 },
      }),
      policy: '"minute";q=60;w=60, "day";q=1000000;w=86400',
      remaining: '"minute";r=55;t=30, "day";r=999000;t=43200',
    },
    {
      name: 'a publishable key: the ip-minute window between them, on the same minute',
      snap: snapshot({
        limits: { requests_per_minute: 100, tokens_per_day: 50_000 },
        used: { requests_this_minute: 40, tokens_today: 20_000 },
        resets: { minute: NOW + 12_000 },
        ip: { limit: 10, used: 3 },
      }),
      policy: '"minute";q=100;w=60, "ip-minute";q=10;w=60, "day";q=50000;w=86400',
      remaining: '"minute";r=60;t=12, "ip-minute";r=7;t=12, "day";r=30000;t=43200',
    },
    {
      name: 'remaining never negative when every window is over its limit',
      snap: snapshot({
        used: { requests_this_minute: 75, tokens_today: 1_200_000 },
        ip: { limit: 10, used: 14 },
      }),
      policy: '"minute";q=60;w=60, "ip-minute";q=10;w=60, "day";q=1000000;w=86400',
      remaining: '"minute";r=0;t=60, "ip-minute";r=0;t=60, "day";r=0;t=43200',
    },
    {
      name: 'remaining exactly 0 at the limit',
      snap: snapshot({ used: { requests_this_minute: 60, tokens_today: 1_000_000 } }),
      policy: '"minute";q=60;w=60, "day";q=1000000;w=86400',
      remaining: '"minute";r=0;t=60, "day";r=0;t=43200',
    },
    {
      name: 't rounded up to whole seconds (30.001 s is 31)',
      snap: snapshot({ resets: { minute: NOW + 30_001, day: NOW + 1_500 } }),
      policy: '"minute";q=60;w=60, "day";q=1000000;w=86400',
      remaining: '"minute";r=60;t=31, "day";r=1000000;t=2',
    },
    {
      name: 't at least 1 when a reset is under a second away',
      snap: snapshot({ resets: { minute: NOW + 1, day: NOW + 999 } }),
      policy: '"minute";q=60;w=60, "day";q=1000000;w=86400',
      remaining: '"minute";r=60;t=1, "day";r=1000000;t=1',
    },
    {
      name: "an end user under both per-user windows: user-minute after the key's minute windows, user-day after its day",
      snap: snapshot({
        used: { requests_this_minute: 10, tokens_today: 5000 },
        resets: { minute: NOW + 20_000 },
        ip: { limit: 10, used: 4 },
        user: {
          limits: { requests_per_minute: 3, concurrent_streams: 1, tokens_per_day: 2000 },
          used: { requests_this_minute: 1, tokens_today: 2500 },
        },
      }),
      policy:
        '"minute";q=60;w=60, "ip-minute";q=10;w=60, "user-minute";q=3;w=60, "day";q=1000000;w=86400, "user-day";q=2000;w=86400',
      remaining:
        '"minute";r=50;t=20, "ip-minute";r=6;t=20, "user-minute";r=2;t=20, "day";r=995000;t=43200, "user-day";r=0;t=43200',
    },
    {
      name: 'an end user: only the per-user windows the key sets',
      snap: snapshot({ user: { limits: { tokens_per_day: 2000 }, used: { tokens_today: 500 } } }),
      policy: '"minute";q=60;w=60, "day";q=1000000;w=86400, "user-day";q=2000;w=86400',
      remaining: '"minute";r=60;t=60, "day";r=1000000;t=43200, "user-day";r=1500;t=43200',
    },
    {
      name: 'an end user whose key sets no per-user limits: the key windows alone',
      snap: snapshot({ user: { limits: {}, used: { requests_this_minute: 4 } } }),
      policy: '"minute";q=60;w=60, "day";q=1000000;w=86400',
      remaining: '"minute";r=60;t=60, "day";r=1000000;t=43200',
    },
    {
      name: 't at least 1 when a reset is now or already past',
      snap: snapshot({ resets: { minute: NOW, day: NOW - 5_000 } }),
      policy: '"minute";q=60;w=60, "day";q=1000000;w=86400',
      remaining: '"minute";r=60;t=1, "day";r=1000000;t=1',
    },
  ])('$name', ({ snap, policy, remaining }) => {
    expect(rateLimitHeaders(snap, NOW)).toEqual({
      'RateLimit-Policy': policy,
      RateLimit: remaining,
    });
  });
});

describe('refusalError: the 429 for a refused admission', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const refused = (
    limit: LimitName | undefined,
    snap: UsageSnapshot,
    estimate?: number,
  ): Admission => ({
    ok: false,
    ...(limit ? { limit } : {}),
    ...(estimate !== undefined ? { estimate } : {}),
    snapshot: snap,
  });
  const minuteIn45s = snapshot({ resets: { minute: NOW + 45_000 } });

  it.each<{
    name: string;
    admission: Admission;
    ipLimit?: number;
    retryAfter: string;
    message: RegExp[];
  }>([
    {
      name: 'requests_per_minute: Retry-After is the seconds to the minute reset',
      admission: refused('requests_per_minute', minuteIn45s),
      retryAfter: '45',
      message: [
        /^Rate limit reached: requests_per_minute \(60 a minute for this key\)/,
        /Retry-After/,
      ],
    },
    {
      name: 'no limit named: treated as requests_per_minute',
      admission: refused(undefined, minuteIn45s),
      retryAfter: '45',
      message: [/^Rate limit reached: requests_per_minute \(60 a minute for this key\)/],
    },
    {
      name: 'ip_requests_per_minute: Retry-After is the seconds to the minute reset, the message names the IP limit',
      admission: refused(
        'ip_requests_per_minute',
        snapshot({ resets: { minute: NOW + 8_200 }, ip: { limit: 10, used: 10 } }),
      ),
      ipLimit: 10,
      retryAfter: '9',
      message: [
        /^Rate limit reached: requests per minute from this client IP \(10 a minute for a publishable key\)/,
      ],
    },
    {
      name: 'concurrent_streams: Retry-After is 1 whatever the minute reset',
      admission: refused(
        'concurrent_streams',
        snapshot({
          limits: { concurrent_streams: 3 },
          used: { open_streams: 3 },
          resets: { minute: NOW + 45_000 },
        }),
      ),
      retryAfter: '1',
      message: [
        /^Rate limit reached: concurrent_streams \(3 turns in flight for this key\)/,
        /Wait for a turn to finish/,
      ],
    },
    {
      name: 'tokens_per_day without an estimate: Retry-After is the seconds to the day reset',
      admission: refused('tokens_per_day', snapshot({ used: { tokens_today: 1_000_000 } })),
      retryAfter: '43200',
      message: [
        /^Rate limit reached: tokens_per_day \(1000000 tokens for this key today, UTC\)/,
        /resets at 00:00 UTC/,
      ],
    },
    {
      name: 'tokens_per_day with an estimate that does not fit what is left: names the estimate and what is left',
      admission: refused(
        'tokens_per_day',
        snapshot({ used: { tokens_today: 990_000 }, resets: { day: NOW + 90_500 } }),
        25_000,
      ),
      retryAfter: '91',
      message: [
        /^Rate limit reached: tokens_per_day \(1000000 tokens for this key today, UTC\)/,
        /estimated at about 25000 tokens and 10000 are left today \(less what turns in flight may use\)/,
        /retry when the budget resets at 00:00 UTC/,
      ],
    },
    {
      name: 'tokens_per_day with nothing left: says 0 are left, without the in-flight caveat',
      admission: refused('tokens_per_day', snapshot({ used: { tokens_today: 1_100_000 } }), 500),
      retryAfter: '43200',
      message: [/estimated at about 500 tokens and 0 are left today\. /],
    },
    {
      name: 'tokens_per_day with an estimate above the whole daily budget: says it can never fit',
      admission: refused(
        'tokens_per_day',
        snapshot({ limits: { tokens_per_day: 10_000 } }),
        12_000,
      ),
      retryAfter: '43200',
      message: [
        /estimated at about 12000 tokens and 10000 are left today/,
        /can never fit the daily budget/,
      ],
    },
    {
      name: 'user_requests_per_minute: names the limit and the end user; Retry-After to the minute reset',
      admission: refused(
        'user_requests_per_minute',
        snapshot({
          resets: { minute: NOW + 45_000 },
          user: { limits: { requests_per_minute: 5 }, used: { requests_this_minute: 5 } },
        }),
      ),
      retryAfter: '45',
      message: [
        /^Rate limit reached: user_requests_per_minute for end user "u_1" \(5 a minute per end user for this key\)/,
        /Retry-After/,
      ],
    },
    {
      name: 'user_concurrent_streams: Retry-After is 1',
      admission: refused(
        'user_concurrent_streams',
        snapshot({ user: { limits: { concurrent_streams: 2 }, used: { open_streams: 2 } } }),
      ),
      retryAfter: '1',
      message: [
        /^Rate limit reached: user_concurrent_streams for end user "u_1" \(2 turns in flight per end user for this key\)/,
      ],
    },
    {
      name: "user_tokens_per_day with an estimate: what is left of the user's day; Retry-After to the day reset",
      admission: refused(
        'user_tokens_per_day',
        snapshot({ user: { limits: { tokens_per_day: 2000 }, used: { tokens_today: 1500 } } }),
        800,
      ),
      retryAfter: '43200',
      message: [
        /^Rate limit reached: user_tokens_per_day for end user "u_1" \(2000 tokens per end user today, UTC, for this key\)/,
        /estimated at about 800 tokens and 500 are left for them today/,
      ],
    },
  ])('$name', ({ admission, ipLimit, retryAfter, message }) => {
    const err = refusalError(admission, ipLimit);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(429);
    expect(err.type).toBe('rate_limit_error');
    expect(err.headers['Retry-After']).toBe(retryAfter);
    for (const pattern of message) expect(err.message).toMatch(pattern);
    // The same RateLimit fields as a successful response would carry at this instant.
    expect(err.headers).toEqual({
      ...rateLimitHeaders(admission.snapshot, NOW),
      'Retry-After': retryAfter,
    });
  });

  it.each([
    { name: 'an estimate that fits the budget once it resets', estimate: 25_000, never: false },
    { name: 'an estimate equal to the whole daily budget', estimate: 1_000_000, never: false },
    { name: 'an estimate one token over the whole daily budget', estimate: 1_000_001, never: true },
  ])('tells "can never fit" only for $name', ({ estimate, never }) => {
    const err = refusalError(
      refused('tokens_per_day', snapshot({ used: { tokens_today: 999_000 } }), estimate),
    );
    expect(err.message.includes('can never fit the daily budget')).toBe(never);
    expect(err.message.includes('retry when the budget resets at 00:00 UTC')).toBe(!never);
  });
});
