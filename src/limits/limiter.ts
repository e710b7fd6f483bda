/**
 * `KeyLimiter`: one Durable Object per client key, so every limit is exact and global (KV
 * counters would be neither). SQLite holds four small tables:
 *   windows(name, start, count) — the key's minute window, one per client IP for
 *                                 publishable keys (`ip:<address>`) and one per end user
 *                                 (`user:<id>`) (fixed windows aligned to the minute)
 *   turns(id, started, reserved, user)
 *                               — turns in flight (each holds one concurrent slot, and its
 *                                 estimated input out of the day's budget until it ends),
 *                                 with the end user each is for
 *   token_days(day, tokens, cache_creation, cache_read)
 *                               — tokens charged per UTC day, and how many of them were
 *                                 prompt-cache writes and reads
 *   user_days(day, user, tokens, cache_creation, cache_read)
 *                               — the same per end user
 * Each turn costs two calls: `startTurn` (count the request, take a slot, check that its
 * estimated input fits the day's budget) and `endTurn` (free the slot, charge the tokens).
 * An end user's limits are checked and counted in the same calls, so admission stays one
 * round trip and as exact as the key's.
 *
 * Per-user state stays bounded without a sweep: a `user:` window exists only for the end
 * users seen in the current minute (older windows go as the next request is counted), a
 * `turns` row only while its turn is in flight (or 30 minutes, if its runner died), and a
 * `user_days` row only for the end users charged today (earlier days go with the next
 * snapshot). So the rows are at most what the key's own limits let through: its requests in
 * a minute, its concurrent turns, its turns in a day.
 */
import { DurableObject } from 'cloudflare:workers';
import type {
  EndUser,
  LimitName,
  Limits,
  TokenCharge,
  UsageSnapshot,
  Used,
} from '../contract/usage';

const MINUTE = 60_000;
const DAY = 86_400_000;
/**
 * A slot whose Worker died before `endTurn` (crash, eviction) is reclaimed after this long;
 * longer than any turn can run (the SDK's own request timeout is 10 minutes).
 */
const STALE_TURN_MS = 30 * MINUTE;

export interface Admission {
  ok: boolean;
  /** The limit that refused the request, when `ok` is false. */
  limit?: LimitName;
  /** For a `tokens_per_day` refusal: the turn's estimated input that did not fit. */
  estimate?: number;
  snapshot: UsageSnapshot;
}

interface CountInput {
  limits: Limits;
  /** Per-IP window for publishable keys. */
  ip?: { address: string; limit: number };
  /** The request's end user: counted, and held to the key's per-user limits. */
  user?: EndUser;
  /**
   * The request was counted in the minute window when it came in (a job: its POST was), so
   * its turn takes a slot and tokens but is not counted again.
   */
  counted?: boolean;
}

interface TurnInput extends CountInput {
  turnId: string;
  /** The turn's input, estimated at the edge (limits/estimate.ts). */
  estimate: number;
}

export class KeyLimiter extends DurableObject<Env> {
  #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`
      CREATE TABLE IF NOT EXISTS windows (name TEXT PRIMARY KEY, start INTEGER NOT NULL, count INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS turns (id TEXT PRIMARY KEY, started INTEGER NOT NULL,
        reserved INTEGER NOT NULL DEFAULT 0, user TEXT);
      CREATE TABLE IF NOT EXISTS token_days (
        day INTEGER PRIMARY KEY, tokens INTEGER NOT NULL,
        cache_creation INTEGER NOT NULL DEFAULT 0, cache_read INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS user_days (
        day INTEGER NOT NULL, user TEXT NOT NULL, tokens INTEGER NOT NULL,
        cache_creation INTEGER NOT NULL DEFAULT 0, cache_read INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, user));
    `);
    // Objects made before turns had a reservation, or an end user, get the column once.
    const columns = this.#sql
      .exec<{ name: string }>("SELECT name FROM pragma_table_info('turns')")
      .toArray()
      .map((c) => c.name);
    if (!columns.includes('reserved')) {
      this.#sql.exec('ALTER TABLE turns ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0');
    }
    if (!columns.includes('user')) this.#sql.exec('ALTER TABLE turns ADD COLUMN user TEXT');
  }

  /**
   * Counts one request that is not a turn (transcripts, usage). `report`: an end user whose
   * figures the snapshot shows beside the key's, without counting the request for them
   * (`GET /v1/usage?user=`).
   */
  hit(input: CountInput, report?: EndUser): Admission {
    const now = Date.now();
    const shown = report ? { ...input, user: report } : input;
    const refused = this.#refusal(input, now, null);
    if (refused) return { ok: false, limit: refused, snapshot: this.#snapshot(shown, now) };
    this.#count(input, now);
    return { ok: true, snapshot: this.#snapshot(shown, now) };
  }

  /**
   * Counts the request, takes a concurrent slot and reserves the turn's estimated input,
   * refusing a turn that cannot fit what is left of the day's budget after the turns in
   * flight. Only the input is checked: a turn's output may take the day over by at most
   * its `max_tokens`.
   */
  startTurn(input: TurnInput): Admission {
    const now = Date.now();
    this.#sql.exec('DELETE FROM turns WHERE started < ?', now - STALE_TURN_MS);
    const estimate = Math.max(0, Math.ceil(input.estimate));
    const refused = this.#refusal(input, now, estimate);
    if (refused) {
      return {
        ok: false,
        limit: refused,
        ...(refused === 'tokens_per_day' || refused === 'user_tokens_per_day' ? { estimate } : {}),
        snapshot: this.#snapshot(input, now),
      };
    }
    this.#count(input, now);
    this.#sql.exec(
      'INSERT OR REPLACE INTO turns (id, started, reserved, user) VALUES (?, ?, ?, ?)',
      input.turnId,
      now,
      estimate,
      input.user?.id ?? null,
    );
    return { ok: true, snapshot: this.#snapshot(input, now) };
  }

  /**
   * Takes back a turn that was admitted but never ran (its conversation refused it): the
   * slot is freed and the request uncounted, so a refused request costs nothing.
   */
  cancelTurn(input: CountInput & { turnId: string }): void {
    const now = Date.now();
    const removed = this.#sql.exec('DELETE FROM turns WHERE id = ?', input.turnId).rowsWritten;
    if (removed === 0 || input.counted) return;
    this.#uncount(input, now);
  }

  /** Takes back a counted request that was then refused for another reason (a job's 404). */
  uncount(input: CountInput): void {
    this.#uncount(input, Date.now());
  }

  #uncount(input: CountInput, now: number) {
    const start = minuteStart(now);
    for (const name of windowNames(input)) {
      this.#sql.exec(
        'UPDATE windows SET count = MAX(0, count - 1) WHERE name = ? AND start = ?',
        name,
        start,
      );
    }
  }

  /**
   * Frees the turn's slot (idempotent) and charges what the turn used, however it ended, to
   * the key and to its end user.
   */
  endTurn(input: {
    turnId: string;
    charge: TokenCharge;
    limits: Limits;
    user?: EndUser;
  }): UsageSnapshot {
    const now = Date.now();
    this.#sql.exec('DELETE FROM turns WHERE id = ?', input.turnId);
    const [tokens, cacheCreation, cacheRead] = [
      input.charge.tokens,
      input.charge.cache_creation,
      input.charge.cache_read,
    ].map((n) => Math.max(0, Math.floor(n)));
    if (tokens! > 0) {
      const day = dayStart(now);
      this.#sql.exec(
        `INSERT INTO token_days (day, tokens, cache_creation, cache_read) VALUES (?, ?, ?, ?)
         ON CONFLICT(day) DO UPDATE SET tokens = tokens + excluded.tokens,
           cache_creation = cache_creation + excluded.cache_creation, cache_read = cache_read + excluded.cache_read`,
        day,
        tokens!,
        cacheCreation!,
        cacheRead!,
      );
      if (input.user) {
        this.#sql.exec(
          `INSERT INTO user_days (day, user, tokens, cache_creation, cache_read) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(day, user) DO UPDATE SET tokens = tokens + excluded.tokens,
             cache_creation = cache_creation + excluded.cache_creation, cache_read = cache_read + excluded.cache_read`,
          day,
          input.user.id,
          tokens!,
          cacheCreation!,
          cacheRead!,
        );
      }
    }
    return this.#snapshot(input, now);
  }

  /**
   * The key's limits first, then its end user's (only those the key sets per user).
   * `estimate`: a turn's estimated input; null for a request that is not a turn.
   */
  #refusal(input: CountInput, now: number, estimate: number | null): LimitName | null {
    const { limits, ip } = input;
    const user = input.user?.id;
    const perUser = input.user?.limits ?? {};
    if (!input.counted) {
      if (this.#windowCount('minute', now) >= limits.requests_per_minute)
        return 'requests_per_minute';
      if (ip && this.#windowCount(`ip:${ip.address}`, now) >= ip.limit)
        return 'ip_requests_per_minute';
      if (
        user !== undefined &&
        perUser.requests_per_minute !== undefined &&
        this.#windowCount(userWindow(user), now) >= perUser.requests_per_minute
      )
        return 'user_requests_per_minute';
    }
    if (estimate === null) return null;
    if (this.#openTurns() >= limits.concurrent_streams) return 'concurrent_streams';
    if (
      user !== undefined &&
      perUser.concurrent_streams !== undefined &&
      this.#openTurns(user) >= perUser.concurrent_streams
    )
      return 'user_concurrent_streams';
    if (overBudget(this.#today(now).tokens, this.#reserved(), estimate, limits.tokens_per_day))
      return 'tokens_per_day';
    if (
      user !== undefined &&
      perUser.tokens_per_day !== undefined &&
      overBudget(
        this.#userToday(user, now).tokens,
        this.#reserved(user),
        estimate,
        perUser.tokens_per_day,
      )
    )
      return 'user_tokens_per_day';
    return null;
  }

  #count(input: CountInput, now: number) {
    if (input.counted) return;
    for (const name of windowNames(input)) this.#bump(name, now);
  }

  #windowCount(name: string, now: number): number {
    const row = this.#sql
      .exec<{ start: number; count: number }>(
        'SELECT start, count FROM windows WHERE name = ?',
        name,
      )
      .toArray()[0];
    return row && row.start === minuteStart(now) ? row.count : 0;
  }

  #bump(name: string, now: number) {
    const start = minuteStart(now);
    this.#sql.exec(
      `INSERT INTO windows (name, start, count) VALUES (?, ?, 1)
       ON CONFLICT(name) DO UPDATE SET count = CASE WHEN start = excluded.start THEN count + 1 ELSE 1 END, start = excluded.start`,
      name,
      start,
    );
    // Old per-IP and per-user windows are dead weight: drop them as we go.
    this.#sql.exec("DELETE FROM windows WHERE start < ? AND name != 'minute'", start);
  }

  /** Turns in flight: the key's, or one end user's. */
  #openTurns(user?: string): number {
    return user === undefined
      ? this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM turns').one().n
      : this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM turns WHERE user = ?', user).one()
          .n;
  }

  /**
   * Estimated input of the turns in flight (the key's, or one end user's), held out of the
   * day's budget until they end.
   */
  #reserved(user?: string): number {
    return user === undefined
      ? this.#sql.exec<{ n: number }>('SELECT COALESCE(SUM(reserved), 0) AS n FROM turns').one().n
      : this.#sql
          .exec<{ n: number }>(
            'SELECT COALESCE(SUM(reserved), 0) AS n FROM turns WHERE user = ?',
            user,
          )
          .one().n;
  }

  /** The key's charges today; earlier days (the key's and its end users') are deleted here. */
  #today(now: number): DayCharges {
    const day = dayStart(now);
    this.#sql.exec('DELETE FROM token_days WHERE day < ?', day);
    this.#sql.exec('DELETE FROM user_days WHERE day < ?', day);
    const row = this.#sql
      .exec<DayCharges>(
        'SELECT tokens, cache_creation, cache_read FROM token_days WHERE day = ?',
        day,
      )
      .toArray()[0];
    return row ?? NO_CHARGES;
  }

  #userToday(user: string, now: number): DayCharges {
    const row = this.#sql
      .exec<DayCharges>(
        'SELECT tokens, cache_creation, cache_read FROM user_days WHERE day = ? AND user = ?',
        dayStart(now),
        user,
      )
      .toArray()[0];
    return row ?? NO_CHARGES;
  }

  #snapshot({ limits, ip, user }: CountInput, now: number): UsageSnapshot {
    const today = this.#today(now);
    return {
      ...(ip ? { ip: { limit: ip.limit, used: this.#windowCount(`ip:${ip.address}`, now) } } : {}),
      limits,
      used: used(this.#windowCount('minute', now), this.#openTurns(), today),
      resets: { minute: minuteStart(now) + MINUTE, day: dayStart(now) + DAY },
      ...(user
        ? {
            user: {
              ...user,
              used: used(
                this.#windowCount(userWindow(user.id), now),
                this.#openTurns(user.id),
                this.#userToday(user.id, now),
              ),
            },
          }
        : {}),
    };
  }
}

interface DayCharges extends Record<string, SqlStorageValue> {
  tokens: number;
  cache_creation: number;
  cache_read: number;
}

const NO_CHARGES: DayCharges = { tokens: 0, cache_creation: 0, cache_read: 0 };

function used(requests: number, openTurns: number, today: DayCharges): Used {
  return {
    requests_this_minute: requests,
    open_streams: openTurns,
    tokens_today: today.tokens,
    cache_creation_input_tokens_today: today.cache_creation,
    cache_read_input_tokens_today: today.cache_read,
  };
}

/**
 * Whether a turn estimated at `estimate` cannot be taken: the day's budget is spent, or what
 * was charged plus what turns in flight hold plus this turn would pass it.
 */
function overBudget(charged: number, reserved: number, estimate: number, budget: number): boolean {
  return charged >= budget || charged + reserved + estimate > budget;
}

const userWindow = (user: string) => `user:${user}`;

/** The minute windows a request counts in: the key's, its client IP's, its end user's. */
function windowNames({ ip, user }: CountInput): string[] {
  return ['minute', ...(ip ? [`ip:${ip.address}`] : []), ...(user ? [userWindow(user.id)] : [])];
}

const minuteStart = (now: number) => now - (now % MINUTE);
const dayStart = (now: number) => now - (now % DAY);

export function limiterFor(env: Env, keyId: string): DurableObjectStub<KeyLimiter> {
  return env.LIMITER.getByName(keyId);
}
