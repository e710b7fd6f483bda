/**
 * `POST /v1/chat`: one turn of a conversation, answered as JSON or SSE (API.md §3).
 * validate → the conversation's sequencer (limits, conversation, plan, upstream) → stream out.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { applyAdmission, turnTicket } from '../limits/admission';
import { wantsEventStream } from '../sse';
import { newConversationId } from '../store/conversations';
import { type ErrorReport, type RunResult, sequencer } from '../turn-runner';
import { readJson, validateWith } from '../validation';
import { chatRequest } from './chat-request';

export const chat = new Hono<AppEnv>();

chat.post('/', async (c) => {
  const body = validateWith(chatRequest, await readJson(c));
  const key = c.get('apiKey');
  const conversationId = body.conversation_id ?? newConversationId();
  const ticket = turnTicket(c);
  const stream = wantsEventStream(c.req.header('accept'), body.stream);
  const log = c.get('log');
  Object.assign(log, {
    request_id: c.get('requestId'),
    method: c.req.method,
    route: c.req.routePath,
    key_id: key.id,
    conversation_id: conversationId,
  });
  const idempotencyKey = c.req.header('idempotency-key');
  // The conversation's own Durable Object takes it from here: it holds the conversation,
  // asks the key's limiter, plans the turn and runs it (see turn-runner.ts).
  const result = await sequencer(c.env, key.id, conversationId).run({
    request: { body, key, conversationId },
    ticket,
    stream,
    log,
    startedAt: c.get('startedAt'),
    ...(stream && idempotencyKey ? { idempotencyKey } : {}),
  });
  if (result.admission) applyAdmission(c, result.admission, ticket);
  if (!result.ok) {
    throw result.error
      ? fromReport(result.error)
      : new ApiError('api_error', 'The turn was refused for an unknown reason. Send it again.');
  }
  // The run writes this request's log line when the turn ends.
  c.set('logDelegated', true);
  if (result.kind === 'stream') {
    // The run stores a streamed answer for Idempotency-Key itself, when the stream ends.
    c.set('idempotencyDelegated', true);
    return c.body(result.stream, 200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
  }
  // (The RPC stub's result type loses the union's narrowing.)
  const { report } = result as unknown as Extract<RunResult, { kind: 'report' }>;
  if (!report.ok) throw fromReport(report.error);
  return c.json(report.answer);
});

function fromReport({ type, message, status, headers }: ErrorReport): ApiError {
  return new ApiError(type, message, status, headers);
}
