/**
 * `ConversationObject`: one Durable Object per conversation, the centre of every turn.
 *
 * - Order: it admits one turn at a time (a second concurrent turn gets 409), holding the
 *   lock in memory.
 * - State: it is the conversation's only writer and keeps what it stored (state.ts).
 * - Ownership: the turn runs here, not in the Worker that received the request. A Worker's
 *   `waitUntil` is cut off about 30 s after its client disconnects; a Durable Object has no
 *   wall-clock limit while it is active, so a client that goes away mid-turn loses nothing:
 *   the turn is read to the end, stored, counted and its slot freed. On compatibility dates
 *   from 2026-10-01 pending I/O keeps the object active; while a turn runs an alarm also
 *   fires every 30 s, for turns past the 15 minutes that pending I/O alone is granted.
 *
 * Its entry point takes plain data (a `TurnJob`) and answers plain data (a `TurnRun`), so
 * any front door can call it the same way: the `/v1/chat` route today, a queue consumer or
 * a reattaching reader next. It asks the key's limiter while it plans the turn
 * (plan.ts), then runs it (run.ts).
 */
import { DurableObject } from 'cloudflare:workers';
import { settings } from '../config';
import { ApiError, type ApiErrorJson } from '../errors';
import { cancelTurn, startTurn, type TurnTicket, withdraw } from '../limits/admission';
import { estimateTurnInput } from '../limits/estimate';
import type { Admission } from '../limits/limiter';
import { rateLimitHeaders, refusalError } from '../limits/policy';
import { logError } from '../log';
import { type Conversation, saveConversation } from '../store/conversations';
import { planTurn, type TurnRequest } from './plan';
import { runToEnd, type TurnJob } from './run';
import { SseStream } from './sse';
import { conflict, ConversationState } from './state';
import { type TurnInput, type TurnOutcome, TurnStopped } from './turn';

/** A turn whose run died without finishing stops blocking the conversation after this long. */
const STALE_TURN_MS = 30 * 60_000;
const KEEPALIVE_MS = 30_000;

/**
 * What a turn came to, for the front door to answer with: plain data (an error's JSON, a
 * stream, a body), so that RPC carries it as typed. `rateLimit` is the limiter's
 * verdict as RateLimit fields, when it was asked (a 429 carries them in its error).
 */
export type TurnRun =
  | { kind: 'error'; error: ApiErrorJson; rateLimit?: Record<string, string> }
  | { kind: 'stream'; stream: ReadableStream<Uint8Array>; rateLimit: Record<string, string> }
  /** The JSON answer's body, serialised once: the same text is sent and stored for replays. */
  | { kind: 'answer'; body: string; rateLimit: Record<string, string> };

interface RunningTurn {
  turnId: string;
  startedAt: number;
  /** Aborted (with a `TurnStopped`) when the conversation is deleted mid-turn. */
  stop: AbortController;
  /** The turn's run, once started: a delete waits for it before removing the copy. */
  settled: Promise<unknown> | null;
}

export class ConversationObject extends DurableObject<Env> {
  #state: ConversationState;
  #running: RunningTurn | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#state = new ConversationState(ctx.storage, env.CONVERSATIONS);
  }

  /**
   * Takes a turn: plans it against the conversation while the key's limiter decides, then
   * runs it here. Anything refused before Claude is called costs the key nothing.
   */
  async run(job: TurnJob): Promise<TurnRun> {
    const { request, ticket } = job;
    const config = settings(this.env);
    let admitting: Promise<Admission> | undefined;
    let input: TurnInput;
    try {
      // Held in memory (or new): the limiter is asked at once and decides while the turn is
      // planned. After an eviction the conversation is read first, since the limiter's
      // budget check needs its size.
      const held = this.#state.held(request.body.conversation_id !== undefined);
      if (held !== undefined) admitting = admit(this.env, ticket, held, request);
      const stored =
        held !== undefined ? held : await this.#state.read(request.key.id, request.conversationId);
      input = planTurn(config, request, stored);
      admitting ??= admit(this.env, ticket, stored, request);
    } catch (err) {
      if (admitting) await withdraw(this.env, ticket, admitting);
      if (err instanceof ApiError) return { kind: 'error', error: err.toJSON() };
      throw err;
    }
    const admission = await admitting;
    if (!admission.ok)
      return { kind: 'error', error: refusalError(admission, ticket.ip?.limit).toJSON() };
    const rateLimit = rateLimitHeaders(admission.snapshot);

    // No await from this check to taking the lock: two calls cannot both pass it.
    const now = Date.now();
    if (this.#running && now - this.#running.startedAt < STALE_TURN_MS) {
      await cancelTurn(this.env, ticket);
      const busy = conflict('busy', this.#state.committedTurns());
      return { kind: 'error', error: busy.toJSON(), rateLimit };
    }
    // The lock is held in memory, not in storage: a storage write here would hold Claude's
    // call (and our first byte) until it is confirmed, and a running turn lives only in this
    // instance anyway — if the instance goes, the turn went with it and the lock should too.
    const stop = new AbortController();
    const running: RunningTurn = { turnId: ticket.turnId, startedAt: now, stop, settled: null };
    this.#running = running;
    // Unconfirmed, for the same reason; the alarm only matters 30 s from now.
    this.ctx.storage
      .setAlarm(now + KEEPALIVE_MS, { allowUnconfirmed: true })
      .catch((err) => logError('keepalive', err));

    const sse = job.stream ? new SseStream(config.pingIntervalMs) : null;
    const { conversation } = input;
    // Sent before Claude is called: the client has its conversation id at once.
    sse?.send({
      event: 'conversation',
      data: { conversation_id: conversation.id, turn: conversation.turns + 1 },
    });
    const report = runToEnd(this.env, job, input, sse, stop.signal, (outcome) =>
      this.#finish(running, input, outcome),
    );
    running.settled = report;
    this.ctx.waitUntil(report);
    if (sse) return { kind: 'stream', stream: sse.readable, rateLimit };
    const done = await report;
    return done.ok
      ? { kind: 'answer', body: done.body, rateLimit }
      : { kind: 'error', error: done.error, rateLimit };
  }

  /** Keeps the object active while a turn runs, even with no client connected. */
  override async alarm(): Promise<void> {
    const running = this.#running;
    if (running && Date.now() - running.startedAt < STALE_TURN_MS) {
      await this.ctx.storage.setAlarm(Date.now() + KEEPALIVE_MS);
    }
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
    await this.#state.forget(keyId, conversationId);
    return { stopped: running !== null };
  }

  /** The turn has ended: keep what it stored (or a failed first turn's empty conversation), free the lock. */
  async #finish(running: RunningTurn, input: TurnInput, outcome: TurnOutcome): Promise<void> {
    if (outcome.ok) {
      this.#state.hold(outcome.conversation, input.ttlSeconds);
      this.#state.commit(outcome.answer.turn);
    } else if (input.conversation.messages.length === 0 && !running.stop.signal.aborted) {
      // A new conversation whose first turn failed is kept empty, so the id the client
      // already has stays valid for a retry.
      await saveConversation(this.env.CONVERSATIONS, input.conversation, input.ttlSeconds).then(
        () => this.#state.hold(input.conversation, input.ttlSeconds),
        () => {},
      );
    }
    if (this.#running === running) this.#running = null;
  }
}

export function conversationFor(
  env: Env,
  keyId: string,
  conversationId: string,
): DurableObjectStub<ConversationObject> {
  return env.CONVERSATIONS_DO.getByName(`${keyId}:${conversationId}`);
}

/** Asks the key's limiter for the turn, with its input estimated from what it will send. */
function admit(
  env: Env,
  ticket: TurnTicket,
  stored: Conversation | null,
  request: TurnRequest,
): Promise<Admission> {
  const admitting = startTurn(env, ticket, estimateTurnInput(stored, request.body));
  admitting.catch(() => {}); // awaited later; this only keeps an early rejection handled
  return admitting;
}
