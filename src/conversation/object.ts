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
 * every front door calls it the same way: the `/v1/chat` route, and the jobs queue's
 * consumer (through `runJob`, which also keeps the job's state here). It asks the key's limiter while it plans the turn
 * (plan.ts), then runs it (run.ts).
 */
import { DurableObject } from 'cloudflare:workers';
import { settings } from '../config';
import { ApiError, type ApiErrorJson } from '../errors';
import {
  cancelTurn,
  startTurn,
  ticketForUser,
  type TurnTicket,
  withdraw,
} from '../limits/admission';
import { estimateTurnInput } from '../limits/estimate';
import { hasHeadroom, Verdicts } from '../limits/headroom';
import type { Admission } from '../limits/limiter';
import { rateLimitHeaders, refusalError } from '../limits/policy';
import { randomToken } from '../lib/crypto';
import { sameJson } from '../lib/json';
import { logError } from '../log';
import type { ContentBlock, MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { type TurnAnswer, visibleContent } from '../contract/answer';
import type { JobView } from '../contract/job-request';
import { backoffSeconds, retryAfterSeconds } from '../lib/backoff';
import { type Conversation, saveConversation } from '../store/conversations';
import type { KeyRecord } from '../store/keys';
import { type Job, JobBook, jobView } from './jobs';
import { planTurn, scopeOf, type TurnRequest } from './plan';
import { runToEnd, type TurnJob } from './run';
import { EventsStore, type HeldEvents } from './events-store';
import { conflict, ConversationState } from './state';
import {
  callUpstream,
  type TurnInput,
  type TurnOutcome,
  TurnStopped,
  type UpstreamCall,
} from './turn';
import { TurnLog } from './turn-log';

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

/**
 * What a reader of the conversation's events gets (`GET /v1/conversations/:id/events`): a
 * stream; `ended` when the turn it names is over and nothing follows the id; or why not.
 * `unknown`: this object has never held the conversation (none, or another key's).
 */
export type EventsRead =
  | { kind: 'stream'; stream: ReadableStream<Uint8Array> }
  | { kind: 'ended' }
  | { kind: 'unknown' }
  | { kind: 'error'; error: ApiErrorJson };

/** An event id, `<turn>:<seq>`. */
export interface EventId {
  turn: number;
  seq: number;
}

interface RunningTurn {
  turnId: string;
  /** The turn's number in its conversation. */
  turn: number;
  /** The job the turn runs, if it is a job's. */
  jobId?: string;
  /** The conversation as it was when the turn began. */
  conversation: Conversation;
  startedAt: number;
  /** Aborted (with a `TurnStopped`) when the conversation is deleted or the turn cancelled. */
  stop: AbortController;
  /** The turn's run, once started: a delete waits for it before removing the copy. */
  settled: Promise<unknown> | null;
}

/** A job's message from the queue, as the consumer hands it over. */
export interface JobDelivery {
  jobId: string;
  /** The job's key, read again for this try (a revoked key has no record). */
  key: KeyRecord;
  ticket: TurnTicket;
  /** Which try this is (1-based), and whether the queue has no try after it. */
  attempt: number;
  final: boolean;
}

/**
 * What the consumer does with a job's message: ack it (`done`), try again after a delay
 * (`retry`), or hand it to the dead-letter queue (`dead`: the job failed on its last try).
 */
export type JobVerdict =
  { kind: 'done' } | { kind: 'retry'; delaySeconds: number } | { kind: 'dead' };

export class ConversationObject extends DurableObject<Env> {
  #state: ConversationState;
  #jobs: JobBook;
  #running: RunningTurn | null = null;
  /** Turns' events from their start until they are in storage: the running turn's, and one
   *  just ended. */
  #logs: TurnLog[] = [];
  #events: EventsStore;
  /** Jobs being run by this instance: a duplicate delivery waits for the same run. */
  #jobRuns = new Map<string, Promise<JobVerdict>>();
  /** This conversation's jobs run one after another, in the order their messages came. */
  #jobTail: Promise<unknown> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#state = new ConversationState(ctx.storage, env.CONVERSATIONS);
    this.#jobs = new JobBook(ctx.storage.sql, settings(env).conversationTtlSeconds);
    this.#events = new EventsStore(ctx.storage.sql);
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
    let early: UpstreamCall | undefined;
    try {
      const now = Date.now();
      // Far from the key's limits at the limiter's last verdict (limits/headroom.ts), and no
      // turn running here: Claude's call may start before the limiter has answered.
      const mayStartEarly = (estimate: number) =>
        !this.#busy(now) && hasHeadroom(verdicts.get(ticket), ticket, estimate, now);
      // Held in memory (or new) and near a limit: the limiter is asked at once and decides
      // while the turn is planned. After an eviction the conversation is read first, since
      // the limiter's budget check needs its size.
      const held = this.#state.held(request.body.conversation_id !== undefined);
      let estimate = held !== undefined ? estimateTurnInput(held, request.body) : undefined;
      let startsEarly = estimate !== undefined ? mayStartEarly(estimate) : undefined;
      if (estimate !== undefined && !startsEarly) admitting = admit(this.env, ticket, estimate);
      const stored =
        held !== undefined
          ? held
          : await this.#state.read(scopeOf(request), request.conversationId);
      input = planTurn(config, request, stored);
      estimate ??= estimateTurnInput(stored, request.body);
      startsEarly ??= mayStartEarly(estimate);
      if (!admitting && startsEarly) {
        early = callUpstream(this.env, input);
        admitting = admitAfterCall(this.env, ticket, estimate);
      }
      admitting ??= admit(this.env, ticket, estimate);
    } catch (err) {
      if (admitting) await withdraw(this.env, ticket, admitting);
      if (err instanceof ApiError) return { kind: 'error', error: err.toJSON() };
      throw err;
    }
    const admission = await admitting;
    verdicts.remember(ticket, { ok: admission.ok, snapshot: admission.snapshot });
    if (!admission.ok) {
      // Refused: the early call is aborted before any of its bytes was read.
      early?.abort.abort();
      return { kind: 'error', error: refusalError(admission, ticket.ip?.limit).toJSON() };
    }
    const rateLimit = rateLimitHeaders(admission.snapshot);

    // No await from this check to taking the lock: two calls cannot both pass it.
    const now = Date.now();
    if (this.#busy(now)) {
      early?.abort.abort();
      await cancelTurn(this.env, ticket);
      const busy = conflict('busy', this.#state.committedTurns());
      return { kind: 'error', error: busy.toJSON(), rateLimit };
    }
    // The lock is held in memory, not in storage: a storage write here would hold Claude's
    // call (and our first byte) until it is confirmed, and a running turn lives only in this
    // instance anyway — if the instance goes, the turn went with it and the lock should too.
    const stop = new AbortController();
    const running: RunningTurn = {
      turnId: ticket.turnId,
      turn: input.conversation.turns + 1,
      ...(job.jobId ? { jobId: job.jobId } : {}),
      conversation: input.conversation,
      startedAt: now,
      stop,
      settled: null,
    };
    this.#running = running;
    // Unconfirmed, for the same reason; the alarm only matters 30 s from now.
    this.ctx.storage
      .setAlarm(now + KEEPALIVE_MS, { allowUnconfirmed: true })
      .catch((err) => logError('keepalive', err));

    const { conversation } = input;
    // Every turn has its log, a JSON one or a job's too: any client may read it live.
    const log = new TurnLog(running.turn);
    this.#logs.push(log);
    const stream = job.stream ? log.attach(-1, config.pingIntervalMs) : null;
    // Sent before Claude is called: the client has its conversation id at once.
    log.append({
      event: 'conversation',
      data: { conversation_id: conversation.id, turn: running.turn },
    });
    const report = runToEnd(
      this.env,
      job,
      input,
      log,
      stop.signal,
      (outcome) => this.#finish(running, input, outcome, job.jobId),
      early,
    );
    running.settled = report;
    this.ctx.waitUntil(report.finally(() => this.#keepEvents(log, input.ttlSeconds)));
    if (stream) return { kind: 'stream', stream, rateLimit };
    const done = await report;
    return done.ok
      ? { kind: 'answer', body: done.body, rateLimit }
      : { kind: 'error', error: done.error, rateLimit };
  }

  /** Nothing: being called makes the object, ahead of its conversation (warm.ts). */
  warm(): void {}

  /** A turn runs (one older than STALE_TURN_MS is taken as lost). */
  #busy(now: number): boolean {
    return this.#running !== null && now - this.#running.startedAt < STALE_TURN_MS;
  }

  /**
   * Stops the running turn (`POST /v1/conversations/:id/cancel`): its upstream call is
   * aborted, its stream ends with `cancelled`, its slot is freed and its tokens so far are
   * charged; nothing of it is stored, so the conversation takes its next turn from where it
   * was. Null when no turn runs.
   */
  async cancel(): Promise<{ turn: number } | null> {
    const running = this.#running;
    if (!running || Date.now() - running.startedAt >= STALE_TURN_MS) return null;
    const error = new ApiError(
      'conflict_error',
      'The turn was cancelled (POST /v1/conversations/:id/cancel) before it finished; nothing of it was stored.',
    );
    // A job's turn: the job ends failed, not retried.
    if (running.jobId) this.#jobs.fail(running.jobId, error.toJSON());
    running.stop.abort(new TurnStopped(error, 'cancelled'));
    await running.settled?.catch(() => {});
    return { turn: running.turn };
  }

  /**
   * The running turn, for a transcript (so a client can tell "still running" from "lost"),
   * with the conversation as it was when the turn began (a new one is not in KV before its
   * first turn ends). Null when no turn runs.
   */
  runningTurn(): { turn: number; started_at: string; starting?: string } | null {
    const running = this.#running;
    if (!running || Date.now() - running.startedAt >= STALE_TURN_MS) return null;
    const { conversation } = running;
    return {
      turn: running.turn,
      started_at: new Date(running.startedAt).toISOString(),
      // Only a conversation with no messages yet (KV has it from its first turn's end on), as
      // JSON text: message content is the SDK's open-ended types, which RPC cannot type.
      ...(conversation.messages.length === 0 ? { starting: JSON.stringify(conversation) } : {}),
    };
  }

  /**
   * A reader of the conversation's events (`GET /v1/conversations/:id/events`): the events
   * after `after` (or, without it, the running turn's from its start, else the last finished
   * turn's), byte for byte as first sent, then the live ones to the turn's end. Held: the
   * running turn's and the last finished turn's events.
   */
  events(after: EventId | null): EventsRead {
    const pingMs = settings(this.env).pingIntervalMs;
    // The turns held: those still in memory (the running one, one not yet stored) and the
    // last one stored, read only when it is the one asked for.
    const storedTurn = this.#events.turn();
    const inMemory = (turn: number) => this.#logs.find((log) => log.turn === turn);
    const latestTurn = Math.max(storedTurn ?? 0, ...this.#logs.map((log) => log.turn));
    if (latestTurn === 0) {
      return this.#state.committedTurns() > 0 || this.#jobs.any()
        ? notHeld(
            'No events of this conversation are held: they are kept for its running turn and its last finished turn, until the conversation expires. GET /v1/conversations/:id shows the stored turns.',
          )
        : { kind: 'unknown' };
    }
    const turn = after?.turn ?? latestTurn;
    const source: HeldEvents | null =
      inMemory(turn) ?? (turn === storedTurn ? this.#events.load() : null);
    if (!source) {
      return notHeld(
        turn > latestTurn
          ? `Event ${after!.turn}:${after!.seq} does not exist: the conversation's latest turn is ${latestTurn}.`
          : `The events of turn ${turn} are no longer held: only the running turn's and the last finished turn's are (the latest is turn ${latestTurn}). GET /v1/conversations/:id shows the stored turns; GET /v1/conversations/:id/events without an id reads the latest turn.`,
      );
    }
    const afterSeq = after?.seq ?? -1;
    if (afterSeq >= source.frames.length) {
      return notHeld(
        `Event ${turn}:${afterSeq} was never sent: turn ${turn} has sent ${source.frames.length} events (${turn}:0 to ${turn}:${source.frames.length - 1}).`,
      );
    }
    const ended = !(source instanceof TurnLog) || source.ended;
    if (ended && afterSeq === source.frames.length - 1) return { kind: 'ended' };
    if (source instanceof TurnLog) {
      return { kind: 'stream', stream: source.attach(afterSeq, pingMs) };
    }
    return { kind: 'stream', stream: closedStream(source.frames.slice(afterSeq + 1)) };
  }

  /**
   * Keeps the object active while a turn runs, even with no client connected; between
   * turns, removes the held events once they expire.
   */
  override async alarm(): Promise<void> {
    const running = this.#running;
    if (running && Date.now() - running.startedAt < STALE_TURN_MS) {
      await this.ctx.storage.setAlarm(Date.now() + KEEPALIVE_MS);
      return;
    }
    this.#events.turn(); // drops them if expired
    const expires = this.#events.expiresAt();
    if (expires !== null) await this.ctx.storage.setAlarm(expires);
  }

  /**
   * Moves a finished turn's events from memory to storage. Deferred to a later task so that
   * the write, and the output gate it raises, come after the last bytes went to the readers.
   */
  async #keepEvents(log: TurnLog, ttlSeconds: number): Promise<void> {
    await scheduler.wait(0);
    // Not when the conversation was deleted meanwhile (which let go of its logs).
    if (!this.#logs.includes(log)) return;
    const expires = Date.now() + ttlSeconds * 1000;
    try {
      this.#events.save(log.turn, log.frames, expires);
      // With no turn running, the keep-alive alarm is not needed: the expiry takes its place.
      if (!this.#running) await this.ctx.storage.setAlarm(expires);
    } catch (err) {
      logError('events', err, { turn: log.turn });
    }
    this.#logs = this.#logs.filter((held) => held !== log);
  }

  /**
   * Deletes the conversation, and a delete wins over a running turn: the turn is stopped
   * (its upstream call aborted, its readers told) and has settled — so it wrote nothing,
   * or its write is done — before the KV copy goes. Being the conversation's only writer,
   * this object is the one place where that order can be kept. Returns whether a turn was
   * running (a new conversation is in KV only from its first turn on).
   */
  async forget(keyId: string, conversationId: string): Promise<{ existed: boolean }> {
    const running = this.#running;
    if (running) {
      running.stop.abort(
        new TurnStopped(
          new ApiError(
            'not_found_error',
            'The conversation was deleted while this turn ran; nothing of the turn was stored.',
          ),
          'deleted',
        ),
      );
      await running.settled?.catch(() => {});
    }
    const hadJobs = this.#jobs.any();
    await this.#state.forget(keyId, conversationId);
    this.#jobs.forgetAll();
    // Its storage is gone with the rest (deleteAll), the events' table too.
    this.#logs = [];
    this.#events = new EventsStore(this.ctx.storage.sql);
    return { existed: running !== null || hadJobs };
  }

  /**
   * Takes a job (`POST /v1/jobs`): everything that can be judged now is — an unknown
   * conversation, a turn the conversation cannot take, a model or thinking form it refuses —
   * and refused at once; otherwise the job is kept and put on the jobs queue.
   */
  async acceptJob(spec: {
    jobId: string;
    request: TurnRequest;
    callbackUrl: string | null;
  }): Promise<{ ok: true; job: JobView } | { ok: false; error: ApiErrorJson }> {
    const { request } = spec;
    try {
      const held = this.#state.held(request.body.conversation_id !== undefined);
      const stored =
        held !== undefined
          ? held
          : await this.#state.read(scopeOf(request), request.conversationId);
      planTurn(settings(this.env), request, stored);
    } catch (err) {
      if (err instanceof ApiError) return { ok: false, error: err.toJSON() };
      throw err;
    }
    this.#jobs.add({
      id: spec.jobId,
      keyId: request.key.id,
      conversationId: request.conversationId,
      body: request.body,
      callbackUrl: spec.callbackUrl,
    });
    // Queued from here, where the job is kept: a job never exists without its message.
    try {
      await this.env.JOBS.send({
        kind: 'job',
        jobId: spec.jobId,
        keyId: request.key.id,
        conversationId: request.conversationId,
      });
    } catch (err) {
      logError('job', err, { job_id: spec.jobId });
      this.#jobs.remove(spec.jobId);
      const error = new ApiError('api_error', 'The job could not be queued. Send it again.');
      return { ok: false, error: error.toJSON() };
    }
    return { ok: true, job: jobView(this.#jobs.get(spec.jobId)!) };
  }

  /** A job taken back before it was queued (refused by the limits, or the queue failed). */
  dropJob(jobId: string): void {
    this.#jobs.remove(jobId);
  }

  /** The job as `GET /v1/jobs/:id` shows it, or null (none, another key's, or expired). */
  job(jobId: string): JobView | null {
    const job = this.#jobs.get(jobId);
    return job ? jobView(job) : null;
  }

  /**
   * Runs a job's turn once, however often the queue delivers it: a job that ended is not
   * run again (its callback is queued if it was not yet), a job running here is waited for.
   * A busy conversation makes the job wait its turn; a refusal worth retrying (limits,
   * upstream faults) sends it back to the queue with a delay, until its last try.
   */
  async runJob(delivery: JobDelivery): Promise<JobVerdict> {
    const running = this.#jobRuns.get(delivery.jobId);
    // A duplicate of a message being run: acked once the job has ended; otherwise it gets
    // the same verdict (the job is not done, and this copy may be the one that survives).
    if (running) return running.then((v) => (this.#ended(delivery.jobId) ? { kind: 'done' } : v));
    const verdict = this.#jobTail.then(() => this.#runJobsUpTo(delivery));
    this.#jobTail = verdict.catch(() => {});
    return verdict;
  }

  /**
   * Runs the conversation's older jobs that still wait (as their messages may come later or
   * out of order), then this one: jobs on one conversation take their turns in the order
   * they were posted.
   */
  async #runJobsUpTo(delivery: JobDelivery): Promise<JobVerdict> {
    for (const older of this.#jobs.waitingBefore(delivery.jobId)) {
      if (this.#jobRuns.has(older)) continue;
      await this.#runOne({
        ...delivery,
        jobId: older,
        ticket: { ...delivery.ticket, turnId: randomToken(16) },
        attempt: 1,
        final: false,
      }).catch((err) => logError('job', err, { job_id: older }));
    }
    return this.#runOne(delivery);
  }

  #runOne(delivery: JobDelivery): Promise<JobVerdict> {
    const run = this.#runJob(delivery);
    this.#jobRuns.set(delivery.jobId, run);
    return run.finally(() => this.#jobRuns.delete(delivery.jobId));
  }

  #ended(jobId: string): boolean {
    const status = this.#jobs.get(jobId)?.status;
    return status === undefined || status === 'succeeded' || status === 'failed';
  }

  /** The job cannot run (its key is gone, its last try could not reach here): it fails for good. */
  async failJob(jobId: string, error: ApiErrorJson): Promise<void> {
    const job = this.#jobs.get(jobId);
    if (!job || job.status === 'succeeded' || job.status === 'failed') return;
    if (this.#jobRuns.has(jobId)) return; // a run here decides its outcome
    this.#jobs.fail(jobId, error);
    await this.#queueCallback(jobId);
  }

  /** What a callback delivery needs: the URL and the job's body, once the job has ended. */
  jobForDelivery(jobId: string): { url: string; body: string } | null {
    const job = this.#jobs.get(jobId);
    if (!job?.callbackUrl || (job.status !== 'succeeded' && job.status !== 'failed')) return null;
    const { deliveries: _deliveries, callback_url: _url, ...body } = jobView(job);
    return { url: job.callbackUrl, body: JSON.stringify(body) };
  }

  recordDelivery(jobId: string, attempt: JobView['deliveries'][number]): void {
    this.#jobs.addDelivery(jobId, attempt);
  }

  async #runJob(delivery: JobDelivery): Promise<JobVerdict> {
    const job = this.#jobs.get(delivery.jobId);
    if (!job) return { kind: 'done' };
    if (job.status === 'succeeded' || job.status === 'failed' || (await this.#recovered(job))) {
      await this.#queueCallback(job.id);
      return { kind: 'done' };
    }
    let run: TurnRun;
    for (;;) {
      // A busy conversation: the job waits for the running turn, then takes its place.
      while (this.#running && Date.now() - this.#running.startedAt < STALE_TURN_MS) {
        await (this.#running.settled ?? scheduler.wait(20)).catch(() => {});
      }
      if (!this.#jobs.get(job.id)) return { kind: 'done' }; // deleted with its conversation
      const conversation = await this.#conversationNow(job);
      this.#jobs.running(job.id, conversation?.messages.length ?? 0);
      run = await this.run({
        request: {
          // A job that started a conversation continues it once it exists (an earlier try
          // left it, empty, or a client continued it meanwhile), rather than starting over.
          body:
            conversation && job.body.conversation_id === undefined
              ? { ...job.body, conversation_id: job.conversationId }
              : job.body,
          key: delivery.key,
          conversationId: job.conversationId,
        },
        // The end user is the job's own (its stored body's), counted and limited as such.
        ticket: ticketForUser(delivery.ticket, delivery.key, job.body.user),
        stream: false,
        requestId: job.id,
        receivedAt: Date.now(),
        jobId: job.id,
      });
      // A /v1/chat turn took the conversation first: wait again, without spending a try.
      if (run.kind === 'error' && run.error.status === 409 && this.#running) continue;
      break;
    }
    if (run.kind === 'answer') {
      await this.#queueCallback(job.id);
      return { kind: 'done' };
    }
    if (run.kind === 'stream') throw new Error('A job never streams.');
    if (this.#ended(job.id)) {
      // Cancelled while it ran.
      await this.#queueCallback(job.id);
      return { kind: 'done' };
    }
    const delaySeconds = retryDelay(run.error, delivery.attempt);
    if (delaySeconds !== null && !delivery.final) {
      this.#jobs.requeue(job.id, run.error);
      return { kind: 'retry', delaySeconds };
    }
    this.#jobs.fail(job.id, run.error);
    await this.#queueCallback(job.id);
    return delaySeconds === null ? { kind: 'done' } : { kind: 'dead' };
  }

  /** The conversation as it stands: held here, or read from KV (null: not started yet). */
  async #conversationNow(job: Job): Promise<Conversation | null> {
    const held = this.#state.held(true);
    return held !== undefined ? held : await this.#state.read(job.keyId, job.conversationId);
  }

  /**
   * A job found `running` with no run of it here began in an instance that has gone. If its
   * turn was stored before that (the KV write comes just before the commit), that turn is the
   * job's result: running it again would add a second turn.
   */
  async #recovered(job: Job): Promise<boolean> {
    if (job.status !== 'running' || job.baseMessages === null) return false;
    const conversation = await this.#conversationNow(job);
    const [asked, answered] = conversation?.messages.slice(job.baseMessages) ?? [];
    if (!conversation || !asked || !answered || !askedBy(asked, job.body)) return false;
    const turn = conversation.messages
      .slice(0, job.baseMessages + 2)
      .filter((m) => m.role === 'assistant').length;
    const last = conversation.messages.length === job.baseMessages + 2;
    const answer: TurnAnswer = {
      conversation_id: conversation.id,
      turn,
      content: visibleContent(answered.content as ContentBlock[]),
      stop_reason: last ? (conversation.last_answer?.stop_reason ?? null) : null,
      usage: (last ? conversation.last_answer?.usage : undefined) ?? {
        input_tokens: 0,
        output_tokens: 0,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    };
    this.#state.commit(conversation.turns);
    this.#jobs.succeed(job.id, JSON.stringify(answer));
    return true;
  }

  /** Hands an ended job's callback to the delivery queue, once. */
  async #queueCallback(jobId: string): Promise<void> {
    const job = this.#jobs.get(jobId);
    if (!job?.callbackUrl || job.callbackQueued) return;
    await this.env.CALLBACKS.send({
      kind: 'callback',
      jobId,
      keyId: job.keyId,
      conversationId: job.conversationId,
    });
    this.#jobs.callbackQueued(jobId);
  }

  /** The turn has ended: keep what it stored (or a failed first turn's empty conversation), free the lock. */
  async #finish(
    running: RunningTurn,
    input: TurnInput,
    outcome: TurnOutcome,
    jobId: string | undefined,
  ): Promise<void> {
    if (outcome.ok) {
      this.#state.hold(outcome.conversation, input.ttlSeconds);
      this.#state.commit(outcome.answer.turn);
      // In the same synchronous step as the commit: a job's turn and its result are stored
      // together, so a second delivery of the job finds it done and adds no second turn.
      if (jobId) this.#jobs.succeed(jobId, JSON.stringify(outcome.answer));
    } else if (input.conversation.messages.length === 0 && !deleted(running.stop.signal)) {
      // A new conversation whose first turn failed (or was cancelled) is kept empty, so the
      // id the client already has stays valid for a retry.
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

/**
 * How long before a job whose turn was refused tries again, or null when trying again cannot
 * help (a 4xx about the request itself).
 */
/** Whether a stored user message is the one a job sent (its message, or its tool results). */
function askedBy(message: MessageParam, body: Job['body']): boolean {
  if (message.role !== 'user') return false;
  if (body.message !== undefined) return sameJson(message.content, body.message);
  const ids = Array.isArray(message.content)
    ? message.content.map((block) => (block.type === 'tool_result' ? block.tool_use_id : null))
    : [];
  return sameJson(
    ids,
    (body.tool_results ?? []).map((result) => result.tool_use_id),
  );
}

function notHeld(message: string): EventsRead {
  return { kind: 'error', error: new ApiError('not_found_error', message).toJSON() };
}

/** Frames already sent, as a stream that ends after them. */
function closedStream(frames: readonly string[]): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(frames.join(''));
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

function deleted(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason instanceof TurnStopped && signal.reason.why === 'deleted';
}

function retryDelay(error: ApiErrorJson, attempt: number): number | null {
  const retryAfter = retryAfterSeconds(
    error.headers['Retry-After'] ?? error.headers['retry-after'],
  );
  // Claude's 429 without a retry-after may be a spend cap: never retried (as for /v1/chat).
  if (error.status === 429 && retryAfter === undefined) return null;
  if (error.status !== 409 && error.status !== 429 && error.status < 500) return null;
  // The schedule, or later if the other side says so: a key whose slots are held by long
  // turns must not spend its tries in seconds.
  return Math.max(backoffSeconds(attempt), Math.ceil(retryAfter ?? 0));
}

/** The limiter's last verdicts, read by every conversation of this isolate. */
const verdicts = new Verdicts();

/**
 * The limiter asked once Claude's call has gone out: where the two share a thread (under
 * `wrangler dev`, every object does) the limiter's work would otherwise run first and hold
 * the call's request back. Its verdict is needed only before Claude's first byte is read,
 * which comes well after it.
 */
function admitAfterCall(env: Env, ticket: TurnTicket, estimate: number): Promise<Admission> {
  const admitting = new Promise((resolve) => setTimeout(resolve, 0)).then(() =>
    startTurn(env, ticket, estimate),
  );
  admitting.catch(() => {});
  return admitting;
}

/** Asks the key's limiter for the turn, with its input estimated from what it will send. */
function admit(env: Env, ticket: TurnTicket, estimate: number): Promise<Admission> {
  const admitting = startTurn(env, ticket, estimate);
  admitting.catch(() => {}); // awaited later; this only keeps an early rejection handled
  return admitting;
}
