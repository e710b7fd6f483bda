/**
 * `KeyLimiter`: one Durable Object per client key, so every limit is exact and global (KV
 * counters would be neither). SQLite holds three small tables:
 *   windows(name, start, count) — the key's minute window, and one per client IP for
 *                                 publishable keys (fixed windows aligned to the minute)
 *   turns(id, started, reserved) — turns in flight (each holds one concurrent slot, and its
 *                                 estimated input out of the day's budget until it ends)
 *   token_days(day, tokens, cache_creation, cache_read)
 *                               — tokens charged per UTC day, and how many of them were
 *                                 prompt-cache writes and reads
 * Each turn costs two calls: `startTurn` (count the request, take a slot, check that its
 * estimated input fits the day's budget) and `endTurn` (free the slot, charge the tokens).
 */
import { DurableObject } from 'cloudflare:workers';
import type { LimitName, Limits, TokenCharge, UsageSnapshot } from '../contract/usage';

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
        reserved INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS token_days (
        day INTEGER PRIMARY KEY, tokens INTEGER NOT NULL,
        cache_creation INTEGER NOT NULL DEFAULT 0, cache_read INTEGER NOT NULL DEFAULT 0);
    `);
    // Objects made before turns had a reservation get the column once.
    const columns = this.#sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('turns')");
    if (!columns.toArray().some((c) => c.name === 'reserved')) {
      this.#sql.exec('ALTER TABLE turns ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0');
    }
  }

  /** Counts one request that is not a turn (transcripts, usage). */
  hit(input: CountInput): Admission {
    const now = Date.now();
    const refused = this.#refusal(input, now, null);
    if (refused) return { ok: false, limit: refused, snapshot: this.#snapshot(input, now) };
    this.#count(input, now);
    return { ok: true, snapshot: this.#snapshot(input, now) };
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
        ...(refused === 'tokens_per_day' ? { estimate } : {}),
        snapshot: this.#snapshot(input, now),
      };
    }
    this.#count(input, now);
    this.#sql.exec(
      'INSERT OR REPLACE INTO turns (id, started, reserved) VALUES (?, ?, ?)',
      input.turnId,
      now,
      estimate,
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
    const names = ['minute', ...(input.ip ? [`ip:${input.ip.address}`] : [])];
    for (const name of names) {
      this.#sql.exec(
        'UPDATE windows SET count = MAX(0, count - 1) WHERE name = ? AND start = ?',
        name,
        start,
      );
    }
  }

  /** Frees the turn's slot (idempotent) and charges what the turn used, however it ended. */
  endTurn(input: { turnId: string; charge: TokenCharge; limits: Limits }): UsageSnapshot {
    const now = Date.now();
    this.#sql.exec('DELETE FROM turns WHERE id = ?', input.turnId);
    const [tokens, cacheCreation, cacheRead] = [
      input.charge.tokens,
      input.charge.cache_creation,
      input.charge.cache_read,
    ].map((n) => Math.max(0, Math.floor(n)));
    if (tokens! > 0) {
      this.#sql.exec(
        `INSERT INTO token_days (day, tokens, cache_creation, cache_read) VALUES (?, ?, ?, ?)
         ON CONFLICT(day) DO UPDATE SET tokens = tokens + excluded.tokens,
           cache_creation = cache_creation + excluded.cache_creation, cache_read = cache_read + excluded.cache_read`,
        dayStart(now),
        tokens!,
        cacheCreation!,
        cacheRead!,
      );
    }
    return this.#snapshot(input, now);
  }

  /** `estimate`: a turn's estimated input; null for a request that is not a turn. */
  #refusal(input: CountInput, now: number, estimate: number | null): LimitName | null {
    const { limits, ip } = input;
    if (!input.counted) {
      if (this.#windowCount('minute', now) >= limits.requests_per_minute)
        return 'requests_per_minute';
      if (ip && this.#windowCount(`ip:${ip.address}`, now) >= ip.limit)
        return 'ip_requests_per_minute';
    }
    if (estimate === null) return null;
    if (this.#openTurns() >= limits.concurrent_streams) return 'concurrent_streams';
    const used = this.#tokensToday(now);
    if (used >= limits.tokens_per_day || used + this.#reserved() + estimate > limits.tokens_per_day)
      return 'tokens_per_day';
    return null;
  }

  #count({ ip, counted }: CountInput, now: number) {
    if (counted) return;
    this.#bump('minute', now);
    if (ip) this.#bump(`ip:${ip.address}`, now);
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
    // Old per-IP windows are dead weight: drop them as we go.
    this.#sql.exec("DELETE FROM windows WHERE start < ? AND name != 'minute'", start);
  }

  #openTurns(): number {
    return this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM turns').one().n;
  }

  /** Estimated input of the turns in flight, held out of the day's budget until they end. */
  #reserved(): number {
    return this.#sql.exec<{ n: number }>('SELECT COALESCE(SUM(reserved), 0) AS n FROM turns').one()
      .n;
  }

  #today(now: number): { tokens: number; cache_creation: number; cache_read: number } {
    const day = dayStart(now);
    this.#sql.exec('DELETE FROM token_days WHERE day < ?', day);
    const row = this.#sql
      .exec<{ tokens: number; cache_creation: number; cache_read: number }>(
        'SELECT tokens, cache_creation, cache_read FROM token_days WHERE day = ?',
        day,
      )
      .toArray()[0];
    return row ?? { tokens: 0, cache_creation: 0, cache_read: 0 };
  }

  #tokensToday(now: number): number {
    return this.#today(now).tokens;
  }

  #snapshot({ limits, ip }: CountInput, now: number): UsageSnapshot {
    const today = this.#today(now);
    return {
      ...(ip ? { ip: { limit: ip.limit, used: this.#windowCount(`ip:${ip.address}`, now) } } : {}),
      limits,
      used: {
        requests_this_minute: this.#windowCount('minute', now),
        open_streams: this.#openTurns(),
        tokens_today: today.tokens,
        cache_creation_input_tokens_today: today.cache_creation,
        cache_read_input_tokens_today: today.cache_read,
      },
      resets: { minute: minuteStart(now) + MINUTE, day: dayStart(now) + DAY },
    };
  }
}

const minuteStart = (now: number) => now - (now % MINUTE);
const dayStart = (now: number) => now - (now % DAY);

export function limiterFor(env: Env, keyId: string): DurableObjectStub<KeyLimiter> {
  return env.LIMITER.getByName(keyId);
}
