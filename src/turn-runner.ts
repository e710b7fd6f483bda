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
 * - Conversation: it is the conversation's only writer, so it keeps what it stored in memory
 *   and the next turn (a tool-loop step above all) starts without a KV read.
 *
 * The Worker authenticates and validates the body, then calls `run`, which asks the key's
 * limiter while it looks up and plans the turn, and pipes the returned event stream (or
 * awaits the JSON report).
 */
import { DurableObject } from 'cloudflare:workers';
import type { ClientEvent } from './anthropic/stream';
import { settings } from './env';
import { ApiError } from './errors';
import { cancelTurn, endTurn, startTurn, type TurnTicket, withdraw } from './limits/admission';
import { estimateTurnInput } from './limits/estimate';
import type { Admission } from './limits/limiter';
import { SseStream } from './sse';
import {
  type Conversation,
  deleteConversation,
  loadConversation,
  saveConversation,
} from './store/conversations';
import { ledger } from './store/idempotency';
import { runTurn, TurnStopped, type TurnAnswer, type TurnInput, type TurnOutcome } from './turn';
import { planTurn, type TurnRequest } from './turn-plan';

/** A turn whose run died without finishing stops blocking the conversation after this long. */
const STALE_TURN_MS = 30 * 60_000;
const KEEPALIVE_MS = 30_000;

export interface TurnJob {
  request: TurnRequest;
  ticket: TurnTicket;
  /** SSE (true) or a JSON report (false). */
  stream: boolean;
  /** The request's log line so far (request id, key, route…); the run completes and writes it. */
  log: Record<string, unknown>;
  startedAt: number;
  /** For a streamed answer: the Idempotency-Key whose ledger entry the run completes. */
  idempotencyKey?: string;
}

/** An error as it travels back to the Worker, which renders it. */
export interface ErrorReport {
  type: string;
  message: string;
  status: number;
  headers: Record<string, string>;
}

export type TurnReport = { ok: true; answer: TurnAnswer } | { ok: false; error: ErrorReport };

/**
 * `admission` is the limiter's answer, for the Worker to apply (the 429, or the RateLimit
 * fields); a refusal without one was refused before the limiter's answer counted.
 */
export type RunResult =
  | { ok: false; error?: ErrorReport; admission?: Admission }
  | { ok: true; kind: 'stream'; stream: ReadableStream<Uint8Array>; admission: Admission }
  | { ok: true; kind: 'report'; report: TurnReport; admission: Admission };

interface RunningTurn {
  turnId: string;
  startedAt: number;
  /** Aborted (with a `TurnStopped`) when the conversation is deleted mid-turn. */
  stop: AbortController;
  /** The turn's run, once started: a delete waits for it before removing the copy. */
  settled: Promise<unknown> | null;
}

export class TurnSequencer extends DurableObject<Env> {
  #sql: SqlStorage;
  /** The turn running now, if any. */
  #running: RunningTurn | null = null;
  /**
   * The conversation as this object last stored it (it is its only writer), until its TTL.
   * TypeScript-private rather than #private so a test can drop it, as an eviction would.
   */
  private kept: { conversation: Conversation; until: number } | null = null;
  #hasState: boolean;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    // Created with the first committed turn, not here: a request naming a conversation that
    // does not exist must not leave a stored object behind.
    this.#hasState =
      this.#sql
        .exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'state'")
        .toArray().length > 0;
  }

  /**
   * Takes a turn: plans it against the conversation while the key's limiter decides, then
   * runs it here. Anything refused before Claude is called costs the key nothing.
   */
  async run(job: TurnJob): Promise<RunResult> {
    const { request, ticket } = job;
    const config = settings(this.env);
    let admitting: Promise<Admission> | undefined;
    let input: TurnInput;
    try {
      // Held in memory (or new): the limiter is asked at once and decides while the turn is
      // planned. After an eviction the conversation is read first, since the limiter's
      // budget check needs its size.
      const kept = this.#kept(request);
      if (kept !== undefined) admitting = this.#admit(ticket, kept, request);
      const stored = kept !== undefined ? kept : await this.#read(request);
      input = planTurn(config, request, stored);
      admitting ??= this.#admit(ticket, stored, request);
    } catch (err) {
      if (admitting) await withdraw(this.env, ticket, admitting);
      if (err instanceof ApiError) return { ok: false, error: errorReport(err) };
      throw err;
    }
    const admission = await admitting;
    if (!admission.ok) return { ok: false, admission };

    // No await from this check to taking the lock: two calls cannot both pass it.
    const now = Date.now();
    if (this.#running && now - this.#running.startedAt < STALE_TURN_MS) {
      await cancelTurn(this.env, ticket);
      return { ok: false, admission, error: errorReport(conflict('busy', this.#committedTurns())) };
    }
    // The lock is held in memory, not in storage: a storage write here would hold Claude's
    // call (and our first byte) until it is confirmed, and a running turn lives only in this
    // instance anyway — if the instance goes, the turn went with it and the lock should too.
    const stop = new AbortController();
    this.#running = { turnId: ticket.turnId, startedAt: now, stop, settled: null };
    // Unconfirmed, for the same reason; the alarm only matters 30 s from now.
    this.ctx.storage.setAlarm(now + KEEPALIVE_MS, { allowUnconfirmed: true }).catch((err) => {
      console.error(JSON.stringify({ level: 'error', where: 'keepalive', error: String(err) }));
    });

    const sse = job.stream ? new SseStream(config.pingIntervalMs) : null;
    const { conversation } = input;
    // Sent before Claude is called: the client has its conversation id at once.
    sse?.send('conversation', { conversation_id: conversation.id, turn: conversation.turns + 1 });
    const running = this.#complete(job, input, sse, stop.signal);
    this.#running.settled = running;
    this.ctx.waitUntil(running);
    return sse
      ? { ok: true, kind: 'stream', stream: sse.readable, admission }
      : { ok: true, kind: 'report', report: await running, admission };
  }

  /** Keeps the object active while a turn runs, even with no client connected. */
  override async alarm(): Promise<void> {
    if (this.#running) await this.ctx.storage.setAlarm(Date.now() + KEEPALIVE_MS);
  }

  /**
   * Deletes the conversation, and a delete wins over a running turn: the turn is stopped
   * (its upstream call aborted, its readers told) and has settled — so it wrote nothing,
   * or its write is done — before the KV copy goes. Being the conversation's only writer,
   * this object is the one place where that order can be kept. Returns whether a turn was
   * running (a new conversation is in KV only from its first turn on).
   */
  async forget(keyId: string, conversationId: string): Promise<{ stopped: boolean }> {
    const running = this.#running;
    if (running) {
      running.stop.abort(
        new TurnStopped(
          new ApiError(
            'not_found_error',
            'The conversation was deleted while this turn ran; nothing of the turn was stored.',
          ),
        ),
      );
      await running.settled?.catch(() => {});
    }
    this.kept = null;
    await deleteConversation(this.env.CONVERSATIONS, keyId, conversationId);
    await this.ctx.storage.deleteAll();
    this.#hasState = false;
    return { stopped: running !== null };
  }

  /**
   * The conversation a turn continues when no storage read is needed: none for a new one,
   * or what this object last stored (it is the only writer, so never a stale copy);
   * `undefined` when it must be read.
   */
  #kept(request: TurnRequest): Conversation | null | undefined {
    if (!request.body.conversation_id) return null;
    const kept = this.kept;
    // Handed out as is: planning and running a turn build new objects and never change it.
    if (kept && kept.until > Date.now()) return kept.conversation;
    this.kept = null;
    return undefined;
  }

  /**
   * The conversation from KV. A copy older than the last committed turn — KV is
   * last-writer-wins and may lag in other locations — is refused rather than sent upstream
   * as an incomplete chain.
   */
  async #read(request: TurnRequest): Promise<Conversation | null> {
    const stored = await loadConversation(
      this.env.CONVERSATIONS,
      request.key.id,
      request.conversationId,
    );
    const committed = this.#committedTurns();
    if (stored && stored.turns < committed) throw conflict('stale', committed);
    return stored;
  }

  /** Asks the key's limiter for the turn, with its input estimated from what it will send. */
  #admit(ticket: TurnTicket, stored: Conversation | null, request: TurnRequest) {
    const admitting = startTurn(this.env, ticket, estimateTurnInput(stored, request.body));
    admitting.catch(() => {}); // awaited later; this only keeps an early rejection handled
    return admitting;
  }

  #keep(conversation: Conversation, ttlSeconds: number) {
    this.kept = { conversation, until: Date.now() + ttlSeconds * 1000 };
  }

  #createState() {
    if (this.#hasState) return;
    this.#hasState = true;
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

  async #complete(
    job: TurnJob,
    input: TurnInput,
    sse: SseStream | null,
    stop: AbortSignal,
  ): Promise<TurnReport> {
    const log: Record<string, unknown> = { ...job.log, model: input.params.model };
    const emit = (event: ClientEvent) => {
      if (event.event === 'text' && log.ttft_ms === undefined)
        log.ttft_ms = Date.now() - job.startedAt;
      sse?.send(event.event, event.data);
    };
    const outcome = await this.#runSafely(input, emit, stop);
    const usage = outcome.ok ? outcome.answer.usage : outcome.usage;
    if (outcome.ok) this.#keep(outcome.conversation, input.ttlSeconds);
    else if (input.conversation.messages.length === 0 && !stop.aborted) {
      // A new conversation whose first turn failed is kept empty, so the id the client
      // already has stays valid for a retry.
      await saveConversation(this.env.CONVERSATIONS, input.conversation, input.ttlSeconds).then(
        () => this.#keep(input.conversation, input.ttlSeconds),
        () => {},
      );
    }
    // Slot and turn end before `done`, so a client's next turn never races this one.
    this.#finish(job.ticket.turnId, outcome.ok ? outcome.answer.turn : undefined);
    await endTurn(this.env, job.ticket, usage);

    const report: TurnReport = outcome.ok
      ? { ok: true, answer: outcome.answer }
      : { ok: false, error: errorReport(outcome.error) };
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

  async #runSafely(
    input: TurnInput,
    emit: (event: ClientEvent) => void,
    stop: AbortSignal,
  ): Promise<TurnOutcome> {
    try {
      return await runTurn(this.env, input, emit, stop);
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
      this.#createState();
      this.#sql.exec('UPDATE state SET committed_turns = ? WHERE id = 1', committedTurns);
    }
    if (this.#running?.turnId === turnId) this.#running = null;
  }

  #committedTurns(): number {
    if (!this.#hasState) return 0;
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

function errorReport(error: ApiError): ErrorReport {
  return { type: error.type, message: error.message, status: error.status, headers: error.headers };
}

/** The 409 for a conversation that refused a turn. */
function conflict(reason: 'busy' | 'stale', committedTurns: number): ApiError {
  return new ApiError(
    'conflict_error',
    reason === 'busy'
      ? 'Another turn of this conversation is still running. Wait for it to finish (its done or error event), then send this one.'
      : `This location has not yet seen the conversation's latest turn (${committedTurns} turns). Retry in a few seconds.`,
    409,
    { 'Retry-After': reason === 'busy' ? '1' : '2' },
  );
}
