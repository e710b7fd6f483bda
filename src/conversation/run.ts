/**
 * A turn's run inside its conversation's object, once admitted and locked: Claude's events
 * into the turn's log (and so out to its readers) as they come, the outcome handed back to the object (which
 * keeps the conversation and frees it), the key's slot ended and the tokens charged, then
 * `done` or `error`, the answer stored for its Idempotency-Key, and the turn's log line.
 */
import type { TurnAnswer } from '../contract/answer';
import type { ClientEvent } from '../contract/events';
import { ApiError, type ApiErrorJson } from '../errors';
import { endTurn, type TurnTicket } from '../limits/admission';
import { logError, logLine } from '../log';
import { settle } from '../store/idempotency';
import type { TurnRequest } from './plan';
import type { TurnLog } from './turn-log';
import { runTurn, type TurnInput, type TurnOutcome, TurnStopped, type UpstreamCall } from './turn';

/** A turn as any front door hands it to the conversation's object: plain data only. */
export interface TurnJob {
  request: TurnRequest;
  /** The key's limiter ticket, made where the request came in (key, client IP). */
  ticket: TurnTicket;
  /** SSE (true) or a JSON answer (false). */
  stream: boolean;
  /** For the turn's log line: joins it to the request's line. */
  requestId: string;
  /** When the request arrived (ms), for time to first text. */
  receivedAt: number;
  /** An Idempotency-Key claimed for this turn: its answer is stored when the turn ends. */
  idempotencyKey?: string;
  /** The job this turn runs, whose result is stored with the turn. */
  jobId?: string;
}

/** How the turn ended; an answer also as its JSON text, made once for the client and the ledger. */
export type TurnReport =
  { ok: true; answer: TurnAnswer; body: string } | { ok: false; error: ApiErrorJson };

export async function runToEnd(
  env: Env,
  job: TurnJob,
  input: TurnInput,
  log: TurnLog,
  stop: AbortSignal,
  /** The object's part: keep the conversation, free it for the next turn. */
  finish: (outcome: TurnOutcome) => Promise<void>,
  /** Claude's call, when it was started before the limiter's verdict. */
  early?: UpstreamCall,
): Promise<TurnReport> {
  let ttftMs: number | undefined;
  const emit = (event: ClientEvent) => {
    if (event.event === 'text' && ttftMs === undefined) ttftMs = Date.now() - job.receivedAt;
    log.append(event);
  };
  let outcome: TurnOutcome;
  try {
    outcome = await runSafely(env, input, emit, stop, early);
    // The conversation and the key's slot are free before `done`: a client's next turn
    // never races this one.
    await finish(outcome);
    await endTurn(env, job.ticket, outcome.ok ? outcome.answer.usage : outcome.usage);
    if (outcome.ok) {
      const { stop_reason, stop_details, usage, turn } = outcome.answer;
      const details = stop_details ? { stop_details } : {};
      log.append({ event: 'done', data: { stop_reason, ...details, usage, turn } });
    } else if (stop.reason instanceof TurnStopped && stop.reason.why === 'cancelled') {
      log.append({ event: 'cancelled', data: { turn: input.conversation.turns + 1 } });
    } else {
      const { type, message } = outcome.error;
      log.append({ event: 'error', data: { type, message } });
    }
  } finally {
    // Also on a throw: a stream left open keeps its ping timer (and the object) alive.
    log.end();
  }
  const report: TurnReport = outcome.ok
    ? { ok: true, answer: outcome.answer, body: JSON.stringify(outcome.answer) }
    : { ok: false, error: outcome.error.toJSON() };
  await settleIdempotency(env, job, report);
  logLine({
    event: 'turn',
    request_id: job.requestId,
    ...(job.jobId ? { job_id: job.jobId } : {}),
    key_id: job.ticket.keyId,
    ...(job.request.body.user !== undefined ? { user: job.request.body.user } : {}),
    conversation_id: input.conversation.id,
    model: input.params.model,
    stream: job.stream,
    ...(report.ok
      ? { turn: report.answer.turn, status: 200 }
      : { status: report.error.status, error_type: report.error.type }),
    ms: Date.now() - job.receivedAt,
    ttft_ms: ttftMs,
    usage: outcome.ok ? outcome.answer.usage : outcome.usage,
  });
  return report;
}

async function runSafely(
  env: Env,
  input: TurnInput,
  emit: (event: ClientEvent) => void,
  stop: AbortSignal,
  early: UpstreamCall | undefined,
): Promise<TurnOutcome> {
  try {
    return await runTurn(env, input, emit, stop, early);
  } catch (err) {
    logError('turn', err, { conversation_id: input.conversation.id });
    return {
      ok: false,
      error: new ApiError('api_error', 'Internal error while running the turn. Send it again.'),
    };
  }
}

/**
 * Stores the answer for replays, or frees the key. A JSON turn that failed is left to the
 * route's middleware, which settles it with the error the client was actually sent; a
 * stream's failure went out as an event after a 200, so nothing about it is final.
 */
async function settleIdempotency(env: Env, job: TurnJob, report: TurnReport) {
  if (!job.idempotencyKey || (!report.ok && !job.stream)) return;
  const answer = report.ok ? { status: 200, body: report.body } : null;
  try {
    await settle(env, job.ticket.keyId, job.idempotencyKey, answer);
  } catch (err) {
    logError('idempotency', err, { key_id: job.ticket.keyId });
  }
}
