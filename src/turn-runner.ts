/**
 * `TurnSequencer`: one Durable Object per conversation that owns its turns.
 *
 * - Order: it admits one turn at a time (a second concurrent turn gets 409) and remembers
 *   how many turns are committed, so a KV read older than the last turn — KV is
 *   last-writer-wins and may be stale in other locations — is caught before it could go
 *   upstream as an incomplete chain.
 * - Ownership: the turn runs here, not in the Worker that received the request. A Worker's
 *   `waitUntil` is cut off about 30 s after its client disconnects; a Durable Object has no
 *   wall-clock limit while it is active, so a client that goes away mid-turn loses nothing:
 *   the turn is read to the end, stored, counted and its slot freed. While a turn runs an
 *   alarm fires every 30 s, which keeps the object active even with nobody connected (on
 *   compatibility dates from 2026-10-01 pending I/O alone does that).
 *
 * The Worker validates, authenticates, admits the turn with the key's limiter, then calls
 * `run` and pipes the returned event stream (or awaits the JSON report).
 */
import { DurableObject } from 'cloudflare:workers';
import type { ClientEvent } from './anthropic/stream';
import { ApiError } from './errors';
import { endTurn, type TurnTicket } from './limits/admission';
import { SseStream } from './sse';
import { saveConversation } from './store/conversations';
import { ledger } from './store/idempotency';
import { runTurn, type TurnAnswer, type TurnInput, type TurnOutcome } from './turn';

/** A turn whose run died without finishing stops blocking the conversation after this long. */
const STALE_TURN_MS = 30 * 60_000;
const KEEPALIVE_MS = 30_000;

export interface TurnJob {
  input: TurnInput;
  /** Completed turns as read from KV; null for a conversation this request creates. */
  knownTurns: number | null;
  ticket: TurnTicket;
  /** SSE (true) or a JSON report (false). */
  stream: boolean;
  pingIntervalMs: number;
  /** The request's log line so far (request id, key, route…); the run completes and writes it. */
  log: Record<string, unknown>;
  startedAt: number;
  /** For a streamed answer: the Idempotency-Key whose ledger entry the run completes. */
  idempotencyKey?: string;
}

export type TurnReport =
  | { ok: true; answer: TurnAnswer }
  | {
      ok: false;
      error: { type: string; message: string; status: number; headers: Record<string, string> };
    };

export type RunResult =
  | { ok: false; reason: 'busy' | 'stale'; committedTurns: number }
  | { ok: true; kind: 'stream'; stream: ReadableStream<Uint8Array> }
  | { ok: true; kind: 'report'; report: TurnReport };

export class TurnSequencer extends DurableObject<Env> {
  #sql: SqlStorage;
  /** The turn running now, if any. */
  #running: { turnId: string; startedAt: number } | null = null;

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

  async run(job: TurnJob): Promise<RunResult> {
    const committedTurns = this.#committedTurns();
    const now = Date.now();
    if (this.#running && now - this.#running.startedAt < STALE_TURN_MS) {
      return { ok: false, reason: 'busy', committedTurns };
    }
    if (job.knownTurns !== null && job.knownTurns < committedTurns) {
      return { ok: false, reason: 'stale', committedTurns };
    }
    // The lock is held in memory, not in storage: a storage write here would hold Claude's
    // call (and our first byte) until it is confirmed, and a running turn lives only in this
    // instance anyway — if the instance goes, the turn went with it and the lock should too.
    this.#running = { turnId: job.ticket.turnId, startedAt: now };
    // Unconfirmed, for the same reason; the alarm only matters 30 s from now.
    this.ctx.storage.setAlarm(now + KEEPALIVE_MS, { allowUnconfirmed: true }).catch((err) => {
      console.error(JSON.stringify({ level: 'error', where: 'keepalive', error: String(err) }));
    });

    const sse = job.stream ? new SseStream(job.pingIntervalMs) : null;
    const { conversation } = job.input;
    // Sent before Claude is called: the client has its conversation id at once.
    sse?.send('conversation', { conversation_id: conversation.id, turn: conversation.turns + 1 });
    const running = this.#complete(job, sse);
    this.ctx.waitUntil(running);
    return sse
      ? { ok: true, kind: 'stream', stream: sse.readable }
      : { ok: true, kind: 'report', report: await running };
  }

  /** Keeps the object active while a turn runs, even with no client connected. */
  override async alarm(): Promise<void> {
    if (this.#running) await this.ctx.storage.setAlarm(Date.now() + KEEPALIVE_MS);
  }

  /** The conversation was deleted: forget it. */
  async forget(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  async #complete(job: TurnJob, sse: SseStream | null): Promise<TurnReport> {
    const log = { ...job.log };
    const emit = (event: ClientEvent) => {
      if (event.event === 'text' && log.ttft_ms === undefined)
        log.ttft_ms = Date.now() - job.startedAt;
      sse?.send(event.event, event.data);
    };
    const outcome = await this.#runSafely(job.input, emit);
    const usage = outcome.ok ? outcome.answer.usage : outcome.usage;
    if (!outcome.ok && job.input.conversation.messages.length === 0) {
      // A new conversation whose first turn failed is kept empty, so the id the client
      // already has stays valid for a retry.
      await saveConversation(
        this.env.CONVERSATIONS,
        job.input.conversation,
        job.input.ttlSeconds,
      ).catch(() => {});
    }
    // Slot and turn end before `done`, so a client's next turn never races this one.
    this.#finish(job.ticket.turnId, outcome.ok ? outcome.answer.turn : undefined);
    await endTurn(this.env, job.ticket, usage);

    const report: TurnReport = outcome.ok
      ? { ok: true, answer: outcome.answer }
      : {
          ok: false,
          error: {
            type: outcome.error.type,
            message: outcome.error.message,
            status: outcome.error.status,
            headers: outcome.error.headers,
          },
        };
    if (sse) {
      if (report.ok) {
        const { stop_reason, usage: used, turn } = report.answer;
        sse.send('done', { stop_reason, usage: used, turn });
      } else {
        sse.send('error', { type: report.error.type, message: report.error.message });
      }
      sse.close();
      if (job.idempotencyKey) await this.#settleIdempotency(job, report);
    }
    console.log(
      JSON.stringify({
        ...log,
        status: sse || report.ok ? 200 : report.error.status,
        ms: Date.now() - job.startedAt,
        usage,
        ...(report.ok ? {} : { error_type: report.error.type }),
      }),
    );
    return report;
  }

  async #runSafely(input: TurnInput, emit: (event: ClientEvent) => void): Promise<TurnOutcome> {
    try {
      return await runTurn(this.env, input, emit);
    } catch (err) {
      console.error(
        JSON.stringify({
          level: 'error',
          where: 'turn',
          error: String((err as Error)?.stack ?? err),
        }),
      );
      return {
        ok: false,
        error: new ApiError('api_error', 'Internal error while running the turn. Send it again.'),
      };
    }
  }

  /** A streamed answer is stored for Idempotency-Key replays here, where it is known. */
  async #settleIdempotency(job: TurnJob, report: TurnReport) {
    const store = ledger(this.env, job.ticket.keyId);
    const key = job.idempotencyKey!;
    try {
      if (report.ok)
        await store.complete({ key, answer: { status: 200, body: JSON.stringify(report.answer) } });
      else await store.release({ key });
    } catch (err) {
      console.error(JSON.stringify({ level: 'error', where: 'idempotency', error: String(err) }));
    }
  }

  #finish(turnId: string, committedTurns: number | undefined) {
    if (committedTurns !== undefined && committedTurns > this.#committedTurns()) {
      this.#sql.exec('UPDATE state SET committed_turns = ? WHERE id = 1', committedTurns);
    }
    if (this.#running?.turnId === turnId) this.#running = null;
  }

  #committedTurns(): number {
    return this.#sql
      .exec<{ committed_turns: number }>('SELECT committed_turns FROM state WHERE id = 1')
      .one().committed_turns;
  }
}

export function sequencer(
  env: Env,
  keyId: string,
  conversationId: string,
): DurableObjectStub<TurnSequencer> {
  return env.SEQUENCER.get(env.SEQUENCER.idFromName(`${keyId}:${conversationId}`));
}

/** The 409 for a conversation that refused a turn. */
export function conflict(reason: 'busy' | 'stale', committedTurns: number): ApiError {
  return new ApiError(
    'conflict_error',
    reason === 'busy'
      ? 'Another turn of this conversation is still running. Wait for it to finish (its done or error event), then send this one.'
      : `This location has not yet seen the conversation's latest turn (${committedTurns} turns). Retry in a few seconds.`,
    409,
    { 'Retry-After': reason === 'busy' ? '1' : '2' },
  );
}
