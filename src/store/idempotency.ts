/**
 * `Idempotency-Key` (IETF idempotency-key draft, as Stripe does it), scoped per API key:
 * the same key with the same body within 24 h replays the first answer and never calls
 * Claude twice; while the first is still running it is a 409; with another body a 422.
 * The ledger is a Durable Object per API key, because claiming a key must be atomic —
 * KV has no compare-and-swap.
 *
 * Stored: answers, and refusals that are final for that body (400, 404, 413, 422).
 * Not stored: outcomes that changed nothing and are worth retrying — 409 (busy
 * conversation), 429, 5xx, 529, 504 — so the same key may be sent again.
 *
 * Who settles a claim: the route's middleware claims it and replays stored answers
 * (middleware/idempotency.ts); whoever produces the outcome settles it with `settle` — the
 * conversation's object for a turn it ran (JSON or stream: only it sees a stream's end),
 * the middleware for a refusal.
 */
import { DurableObject } from 'cloudflare:workers';

const DAY_MS = 24 * 3_600_000;
/** A claim whose Worker died mid-turn stops blocking its key after this long. */
const STALE_RUNNING_MS = 30 * 60_000;

export interface StoredAnswer {
  status: number;
  /** The JSON body: the /v1/chat answer, or an error body. */
  body: string;
}

export type Claim =
  | { state: 'new' }
  | { state: 'running' }
  | { state: 'mismatch' }
  | { state: 'done'; answer: StoredAnswer };

export class IdempotencyLedger extends DurableObject<Env> {
  #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS entries (
      key TEXT PRIMARY KEY, body_hash TEXT NOT NULL, created INTEGER NOT NULL,
      status INTEGER, body TEXT)`);
  }

  claim(input: { key: string; bodyHash: string }): Claim {
    const now = Date.now();
    this.#sql.exec('DELETE FROM entries WHERE created < ?', now - DAY_MS);
    const row = this.#sql
      .exec<{ body_hash: string; created: number; status: number | null; body: string | null }>(
        'SELECT body_hash, created, status, body FROM entries WHERE key = ?',
        input.key,
      )
      .toArray()[0];
    if (row) {
      if (row.body_hash !== input.bodyHash) return { state: 'mismatch' };
      if (row.status !== null && row.body !== null)
        return { state: 'done', answer: { status: row.status, body: row.body } };
      if (now - row.created < STALE_RUNNING_MS) return { state: 'running' };
    }
    this.#sql.exec(
      'INSERT OR REPLACE INTO entries (key, body_hash, created, status, body) VALUES (?, ?, ?, NULL, NULL)',
      input.key,
      input.bodyHash,
      now,
    );
    return { state: 'new' };
  }

  complete(input: { key: string; answer: StoredAnswer }): void {
    this.#sql.exec(
      'UPDATE entries SET status = ?, body = ? WHERE key = ?',
      input.answer.status,
      input.answer.body,
      input.key,
    );
  }

  release(input: { key: string }): void {
    this.#sql.exec('DELETE FROM entries WHERE key = ? AND status IS NULL', input.key);
  }
}

export function ledgerFor(env: Env, keyId: string): DurableObjectStub<IdempotencyLedger> {
  return env.IDEMPOTENCY.getByName(keyId);
}

/** Stores an outcome that is final for its body, or frees the key for a retry. */
export async function settle(
  env: Env,
  keyId: string,
  key: string,
  answer: StoredAnswer | null,
): Promise<void> {
  const ledger = ledgerFor(env, keyId);
  if (answer && isStorable(answer.status)) await ledger.complete({ key, answer });
  else await ledger.release({ key });
}

/** Final for that body: replaying it is right. Everything else may be retried. */
function isStorable(status: number): boolean {
  return (status >= 200 && status < 300) || [400, 404, 413, 422].includes(status);
}
