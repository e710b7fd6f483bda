/**
 * A key's `limits.per_user` (API.md §2, §4): each end user (a request's `user`) is held to
 * them on their own — one user at their limit never holds up another of the same key — with
 * the same 429 and RateLimit fields as the key's limits, and the key's own limits on top.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { KeyLimiter } from '../../src/limits/limiter';
import { auth, call, chat, createKey, expectError, okJson } from '../helpers/api';
import { readEventStream } from '../helpers/sse';
import { awayFromMinuteBoundary, until } from '../helpers/time';

const usageOf = async (key: string, user?: string) => {
  const query = user === undefined ? '' : `?user=${encodeURIComponent(user)}`;
  return okJson(await call(`/v1/usage${query}`, { headers: auth(key) }));
};

const limiterOf = (keyId: string) => env.LIMITER.get(env.LIMITER.idFromName(keyId));

describe('requests per minute, per end user', () => {
  it('refuses user A past their limit with a 429 naming the limit, the user and the "user-minute" window, while user B of the same key goes on', async () => {
    await awayFromMinuteBoundary();
    const { key } = await createKey({
      limits: { requests_per_minute: 100, per_user: { requests_per_minute: 2 } },
    });
    const first = await chat(key, { message: 'a1', user: 'u_a' });
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe(
      '"minute";q=100;w=60, "user-minute";q=2;w=60, "day";q=1000000;w=86400',
    );
    expect(first.headers.get('ratelimit')).toMatch(
      /^"minute";r=99;t=\d+, "user-minute";r=1;t=\d+, "day";r=1000000;t=\d+$/,
    );
    expect((await chat(key, { message: 'a2', user: 'u_a' })).status).toBe(200);

    const refused = await chat(key, { message: 'a3', user: 'u_a' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter >= 1 && retryAfter <= 60).toBe(true);
    expect(refused.headers.get('ratelimit-policy')).toContain('"user-minute";q=2;w=60');
    expect(refused.headers.get('ratelimit')).toMatch(/"user-minute";r=0;t=\d+/);
    // The key's own window still has room: it is the end user's that refused.
    expect(refused.headers.get('ratelimit')).toMatch(/^"minute";r=9\d;/);
    const error = await expectError(refused, 429, 'rate_limit_error');
    expect(error.message).toMatch(/user_requests_per_minute/);
    expect(error.message).toContain('end user "u_a"');
    expect(error.message).toMatch(/2 a minute per end user/);

    const other = await chat(key, { message: 'b1', user: 'u_b' });
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit')).toMatch(/"user-minute";r=1;/);
    // A request with no user is held to the key's limits alone, and shows no user window.
    const anonymous = await chat(key, { message: 'no user' });
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get('ratelimit-policy')).toBe(
      '"minute";q=100;w=60, "day";q=1000000;w=86400',
    );
  });

  it('counts a refused turn for nobody: a 400 or a busy conversation leaves the user window as it was', async () => {
    await awayFromMinuteBoundary();
    const { key } = await createKey({ limits: { per_user: { requests_per_minute: 1 } } });
    await expectError(await chat(key, { message: '', user: 'u_a' }), 400, 'invalid_request_error');
    await expectError(
      await chat(key, { conversation_id: 'c_missing0000000000000', message: 'x', user: 'u_a' }),
      404,
      'not_found_error',
    );
    expect((await chat(key, { message: 'counted', user: 'u_a' })).status).toBe(200);
    await expectError(await chat(key, { message: 'over', user: 'u_a' }), 429, 'rate_limit_error');
  });

  it('counts a replayed answer (Idempotency-Key) for its end user too, as it does for the key', async () => {
    await awayFromMinuteBoundary();
    const { key } = await createKey({ limits: { per_user: { requests_per_minute: 2 } } });
    const headers = { 'idempotency-key': 'per-user-replay-1' };
    const body = { message: 'once', user: 'u_a' };
    expect((await chat(key, body, headers)).status).toBe(200);
    const replay = await chat(key, body, headers);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('ratelimit')).toMatch(/"user-minute";r=0;/);
    const refused = await chat(key, body, headers);
    expect((await expectError(refused, 429, 'rate_limit_error')).message).toMatch(
      /user_requests_per_minute/,
    );
  });

  it("still applies the key's own limit on top of the per-user ones", async () => {
    await awayFromMinuteBoundary();
    const { key } = await createKey({
      limits: { requests_per_minute: 3, per_user: { requests_per_minute: 10 } },
    });
    for (const user of ['u_a', 'u_b', 'u_a']) {
      expect((await chat(key, { message: 'hi', user })).status).toBe(200);
    }
    const refused = await chat(key, { message: 'hi', user: 'u_c' });
    const error = await expectError(refused, 429, 'rate_limit_error');
    expect(error.message).toMatch(/^Rate limit reached: requests_per_minute \(3 a minute/);
  });

  it("counts a job in its end user's window when it is posted, and refuses one past the limit", async () => {
    await awayFromMinuteBoundary();
    const { key } = await createKey({ limits: { per_user: { requests_per_minute: 1 } } });
    const post = (user: string) =>
      call('/v1/jobs', { method: 'POST', headers: auth(key), json: { message: 'job', user } });
    expect((await post('u_a')).status).toBe(202);
    const refused = await post('u_a');
    expect((await expectError(refused, 429, 'rate_limit_error')).message).toMatch(
      /user_requests_per_minute for end user "u_a"/,
    );
    expect((await post('u_b')).status).toBe(202);
  });
});

describe('concurrent turns, per end user', () => {
  it("refuses user A's second turn while their first is in flight, while user B of the same key proceeds", async () => {
    const { key } = await createKey({
      limits: {
        concurrent_streams: 5,
        requests_per_minute: 100,
        per_user: { concurrent_streams: 1 },
      },
    });
    const held = await chat(key, {
      message: 'slow [sim:think_ms=3000]',
      stream: true,
      user: 'u_a',
    });
    expect(held.status).toBe(200);

    const refused = await chat(key, { message: 'second', user: 'u_a' });
    expect(refused.headers.get('retry-after')).toBe('1');
    const error = await expectError(refused, 429, 'rate_limit_error');
    expect(error.message).toMatch(/user_concurrent_streams for end user "u_a"/);
    expect(error.message).toMatch(/1 turns in flight per end user/);

    const other = await chat(key, { message: 'meanwhile', user: 'u_b' });
    expect(other.status).toBe(200);
    expect((await usageOf(key, 'u_a')).used.open_streams).toBe(1);
    expect((await usageOf(key)).used.open_streams).toBe(1);

    expect((await readEventStream(held)).events.at(-1)!.event).toBe('done');
    expect((await usageOf(key, 'u_a')).used.open_streams).toBe(0);
    expect((await chat(key, { message: 'again', user: 'u_a' })).status).toBe(200);
  });
});

describe('tokens per day, per end user', () => {
  it('refuses user A once their day\'s tokens are spent, with the "user-day" window, while user B of the same key goes on', async () => {
    const { key } = await createKey({ limits: { per_user: { tokens_per_day: 150 } } });
    const { events } = await readEventStream(
      await chat(key, { message: 'spend it', stream: true, user: 'u_a' }),
    );
    const { usage } = events.at(-1)!.data;
    const spent = usage.input_tokens + usage.output_tokens;
    expect(spent).toBeGreaterThan(150);

    const refused = await chat(key, { message: 'more', user: 'u_a' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    const untilMidnight = (86_400_000 - (Date.now() % 86_400_000)) / 1000;
    expect(Math.abs(retryAfter - untilMidnight)).toBeLessThan(5);
    expect(refused.headers.get('ratelimit-policy')).toBe(
      '"minute";q=60;w=60, "day";q=1000000;w=86400, "user-day";q=150;w=86400',
    );
    expect(refused.headers.get('ratelimit')).toMatch(/"user-day";r=0;t=\d+$/);
    const error = await expectError(refused, 429, 'rate_limit_error');
    expect(error.message).toMatch(/user_tokens_per_day for end user "u_a"/);
    expect(error.message).toMatch(/estimated at about \d+ tokens and 0 are left for them today/);

    const other = await chat(key, { message: 'mine', user: 'u_b' });
    expect(other.status).toBe(200);
    expect(other.headers.get('ratelimit')).toMatch(/"user-day";r=150;t=\d+$/);
  });

  it("refuses a turn whose estimated input cannot fit what is left of the user's day, before calling Claude", async () => {
    const { key } = await createKey({ limits: { per_user: { tokens_per_day: 1_000 } } });
    const refused = await chat(key, { message: 'word '.repeat(2_000), user: 'u_a' });
    const error = await expectError(refused, 429, 'rate_limit_error');
    expect(error.message).toMatch(/user_tokens_per_day/);
    expect(error.message).toMatch(/can never fit their daily budget/);
    expect((await usageOf(key, 'u_a')).used.tokens_today).toBe(0);
  });
});

describe('GET /v1/usage?user=', () => {
  it("reports one end user's figures, apart from another's, with the key's per-user limits", async () => {
    await awayFromMinuteBoundary();
    const { id, key } = await createKey({
      limits: {
        requests_per_minute: 50,
        per_user: { requests_per_minute: 5, tokens_per_day: 100_000 },
      },
    });
    const spentBy = async (user: string, message: string) => {
      const body = await okJson(await chat(key, { message, user }));
      const u = body.usage;
      return (
        u.input_tokens + u.output_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens
      );
    };
    const a = (await spentBy('u_a', 'first')) + (await spentBy('u_a', 'second'));
    const b = await spentBy('u_b', 'only one, and a longer message than the others');

    const res = await call('/v1/usage?user=u_a', { headers: auth(key) });
    const ofA = await okJson(res);
    expect(ofA).toEqual({
      key_id: id,
      user: 'u_a',
      limits: { requests_per_minute: 5, tokens_per_day: 100_000 },
      used: {
        requests_this_minute: 2,
        open_streams: 0,
        tokens_today: a,
        cache_creation_input_tokens_today: expect.any(Number),
        cache_read_input_tokens_today: expect.any(Number),
      },
      resets: {
        minute: expect.stringMatching(/:00\.000Z$/),
        day: expect.stringMatching(/T00:00:00\.000Z$/),
      },
    });
    // Asking about a user is the key's request, not the user's: its fields are the key's.
    expect(res.headers.get('ratelimit-policy')).toBe('"minute";q=50;w=60, "day";q=1000000;w=86400');
    expect((await usageOf(key, 'u_a')).used.requests_this_minute).toBe(2);

    const ofB = await usageOf(key, 'u_b');
    expect(ofB.used).toMatchObject({ requests_this_minute: 1, tokens_today: b });
    const ofKey = await usageOf(key);
    expect(ofKey.user).toBeUndefined();
    expect(ofKey.used.tokens_today).toBe(a + b);
    // Three turns, and three usage calls before this one, which counts itself.
    expect(ofKey.used.requests_this_minute).toBe(7);

    const stranger = await usageOf(key, 'u_never_seen');
    expect(stranger.used).toEqual({
      requests_this_minute: 0,
      open_streams: 0,
      tokens_today: 0,
      cache_creation_input_tokens_today: 0,
      cache_read_input_tokens_today: 0,
    });
  });

  it('reports no limits for a key that sets none per user, and still counts its users', async () => {
    const { key } = await createKey();
    await okJson(await chat(key, { message: 'hi', user: 'u_a' }));
    const ofA = await usageOf(key, 'u_a');
    expect(ofA.limits).toEqual({});
    expect(ofA.used.requests_this_minute).toBeGreaterThanOrEqual(1);
    expect(ofA.used.tokens_today).toBeGreaterThan(0);
  });
});

describe("the limiter's per-user rows stay bounded", () => {
  it("drops a past minute's user windows and a past day's user tokens as new requests come", async () => {
    const { id, key } = await createKey();
    await okJson(await chat(key, { message: 'hi', user: 'u_today' }));
    const stub = limiterOf(id);
    const yesterday = Date.now() - (Date.now() % 86_400_000) - 86_400_000;
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec("INSERT INTO windows (name, start, count) VALUES ('user:u_gone', 0, 3)");
      sql.exec("INSERT INTO user_days (day, user, tokens) VALUES (?, 'u_gone', 500)", yesterday);
    });
    await okJson(await chat(key, { message: 'again', user: 'u_today' }));
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      const windows = sql.exec<{ name: string }>('SELECT name FROM windows').toArray();
      expect(windows.map((w) => w.name).sort()).toEqual(['minute', 'user:u_today']);
      const days = sql.exec<{ user: string }>('SELECT user FROM user_days').toArray();
      expect(days.map((d) => d.user)).toEqual(['u_today']);
      expect(sql.exec('SELECT COUNT(*) AS n FROM turns').one().n).toBe(0);
    });
  });

  it('gives an object made before end users its turns.user column, and goes on counting', async () => {
    const { id } = await createKey();
    await runInDurableObject(limiterOf(id), (instance, state) => {
      const sql = state.storage.sql;
      sql.exec('DROP TABLE turns');
      sql.exec('CREATE TABLE turns (id TEXT PRIMARY KEY, started INTEGER NOT NULL)');
      const Limiter = instance.constructor as typeof KeyLimiter;
      const reopened = new Limiter(state, env);
      const columns = sql
        .exec<{ name: string }>("SELECT name FROM pragma_table_info('turns')")
        .toArray()
        .map((c) => c.name);
      expect(columns).toEqual(['id', 'started', 'reserved', 'user']);
      const limits = { requests_per_minute: 10, concurrent_streams: 1, tokens_per_day: 1000 };
      const user = { id: 'u_a', limits: { concurrent_streams: 1 } };
      expect(reopened.startTurn({ limits, user, turnId: 't1', estimate: 10 }).ok).toBe(true);
      expect(
        reopened.startTurn({
          limits: { ...limits, concurrent_streams: 5 },
          user,
          turnId: 't2',
          estimate: 10,
        }),
      ).toMatchObject({ ok: false, limit: 'user_concurrent_streams' });
    });
  });
});
