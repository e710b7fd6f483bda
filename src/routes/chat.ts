/**
 * `POST /v1/chat`: one turn of a conversation, answered as JSON or SSE (API.md §3).
 * validate → the conversation's object (limits, conversation, plan, Claude) → stream out.
 */
import { Hono } from 'hono';
import { chatRequest, wantsEventStream } from '../contract/chat-request';
import { parseJson, validateWith } from '../contract/validate';
import { conversationFor } from '../conversation/object';
import { SSE_HEADERS } from '../conversation/sse';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { setHeaders, ticketFor } from '../middleware/rate-limit';
import { newConversationId } from '../store/conversations';

export const chat = new Hono<AppEnv>();

chat.post('/', async (c) => {
  const body = validateWith(chatRequest, parseJson(await c.req.text()));
  const key = c.get('apiKey');
  const conversationId = body.conversation_id ?? newConversationId();
  Object.assign(c.get('log'), {
    conversation_id: conversationId,
    ...(body.user !== undefined ? { user: body.user } : {}),
  });
  const idempotencyKey = c.get('idempotencyKey');
  // The conversation's own Durable Object takes it from here: it holds the conversation,
  // asks the key's limiter, plans the turn and runs it (conversation/object.ts).
  const run = await conversationFor(c.env, key.id, conversationId).run({
    request: { body, key, conversationId },
    ticket: ticketFor(c, body.user),
    stream: wantsEventStream(c.req.header('accept'), body.stream),
    requestId: c.get('requestId'),
    receivedAt: c.get('startedAt'),
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });
  if (run.rateLimit) setHeaders(c, run.rateLimit);
  switch (run.kind) {
    case 'error':
      throw ApiError.from(run.error);
    case 'stream':
      return c.body(run.stream, 200, SSE_HEADERS);
    case 'answer':
      return c.body(run.body, 200, { 'content-type': 'application/json' });
  }
});
