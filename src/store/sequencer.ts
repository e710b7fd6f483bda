/**
 * `TurnSequencer`: one Durable Object per conversation, the owner of its turn order. KV is
 * last-writer-wins with no compare-and-swap and may serve stale reads in other locations,
 * so it cannot order turns by itself. The sequencer admits one turn at a time (a second
 * concurrent turn gets 409) and remembers how many turns are committed, so a KV read older
 * than the last turn is caught before it could go upstream as an incomplete chain.
 */
import { DurableObject } from 'cloudflare:workers';
import { ApiError } from '../errors';

/** A turn whose Worker died before `finish` stops blocking the conversation after this long. */
const STALE_TURN_MS = 30 * 60_000;

export type BeginResult =
  { ok: true } | { ok: false; reason: 'busy' | 'stale'; committedTurns: number };

export class TurnSequencer extends DurableObject<Env> {
  #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec(`
      CREATE TABLE IF NOT EXISTS state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        committed_turns INTEGER NOT NULL,
        turn_id TEXT,
        turn_started INTEGER
      );
      INSERT OR IGNORE INTO state (id, committed_turns) VALUES (1, 0);
    `);
  }

  /** Admits a turn that starts from `knownTurns` completed turns (what the caller read from KV). */
  begin(input: { turnId: string; knownTurns: number }): BeginResult {
    const state = this.#state();
    const now = Date.now();
    if (state.turn_id && state.turn_started !== null && now - state.turn_started < STALE_TURN_MS) {
      return { ok: false, reason: 'busy', committedTurns: state.committed_turns };
    }
    if (input.knownTurns < state.committed_turns) {
      return { ok: false, reason: 'stale', committedTurns: state.committed_turns };
    }
    this.#sql.exec(
      'UPDATE state SET turn_id = ?, turn_started = ? WHERE id = 1',
      input.turnId,
      now,
    );
    return { ok: true };
  }

  /** Ends the turn; `committedTurns` is set when the turn was stored. */
  finish(input: { turnId: string; committedTurns?: number }): void {
    const state = this.#state();
    if (input.committedTurns !== undefined && input.committedTurns > state.committed_turns) {
      this.#sql.exec('UPDATE state SET committed_turns = ? WHERE id = 1', input.committedTurns);
    }
    if (state.turn_id === input.turnId) {
      this.#sql.exec('UPDATE state SET turn_id = NULL, turn_started = NULL WHERE id = 1');
    }
  }

  /** The conversation was deleted: forget it. */
  async forget(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  #state() {
    return this.#sql
      .exec<{ committed_turns: number; turn_id: string | null; turn_started: number | null }>(
        'SELECT committed_turns, turn_id, turn_started FROM state WHERE id = 1',
      )
      .one();
  }
}

export function sequencer(
  env: Env,
  keyId: string,
  conversationId: string,
): DurableObjectStub<TurnSequencer> {
  return env.SEQUENCER.get(env.SEQUENCER.idFromName(`${keyId}:${conversationId}`));
}

export interface TurnLock {
  /** Ends the turn; pass the conversation's new turn count when the turn was stored. Never throws. */
  release(committedTurns?: number): Promise<void>;
}

/**
 * Takes the conversation's turn (a continuing one: `knownTurns` is what KV returned). A new
 * conversation has nobody to race with, so it only reports its first commit.
 */
export async function lockTurn(
  env: Env,
  keyId: string,
  conversationId: string,
  knownTurns: number | null,
): Promise<TurnLock> {
  const stub = sequencer(env, keyId, conversationId);
  const turnId = crypto.randomUUID();
  if (knownTurns !== null) {
    const admitted = await stub.begin({ turnId, knownTurns });
    if (!admitted.ok) {
      throw new ApiError(
        'conflict_error',
        admitted.reason === 'busy'
          ? 'Another turn of this conversation is still running. Wait for it to finish (its done or error event), then send this one.'
          : `This location has not yet seen the conversation's latest turn (${admitted.committedTurns} turns). Retry in a few seconds.`,
        409,
        { 'Retry-After': admitted.reason === 'busy' ? '1' : '2' },
      );
    }
  }
  return {
    async release(committedTurns) {
      try {
        await stub.finish({ turnId, ...(committedTurns !== undefined ? { committedTurns } : {}) });
      } catch (err) {
        console.error(
          JSON.stringify({ level: 'error', where: 'sequencer.finish', error: String(err) }),
        );
      }
    },
  };
}
