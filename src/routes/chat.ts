/**
 * `POST /v1/chat`: one turn of a conversation, answered as JSON or SSE (API.md §3).
 * validate → the conversation's object (limits, conversation, plan, Claude) → stream out.
 */
import { type Context, Hono } from 'hono';
import { type ChatRequest, chatRequest, wantsEventStream } from '../contract/chat-request';
import { parseJson, validateWith } from '../contract/validate';
import { conversationFor } from '../conversation/object';
import { newConversationIdFor, prepareNextConversation } from '../conversation/warm';
import { SSE_HEADERS } from '../conversation/sse';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { setHeaders, ticketFor } from '../middleware/rate-limit';

export const chat = new Hono<AppEnv>();

chat.post('/', async (c) => {
  const body = endUserOfToken(c, validateWith(chatRequest, parseJson(await c.req.text())));
  const key = c.get('apiKey');
  const { scope } = c.get('caller');
  const conversationId = body.conversation_id ?? newConversationIdFor(scope);
  Object.assign(c.get('log'), {
    conversation_id: conversationId,
    ...(body.user !== undefined ? { user: body.user } : {}),
  });
  const idempotencyKey = c.get('idempotencyKey');
  // The conversation's own Durable Object takes it from here: it holds the conversation,
  // asks the key's limiter, plans the turn and runs it (conversation/object.ts).
  const run = await conversationFor(c.env, scope, conversationId).run({
    request: { body, key, conversationId, scope },
    ticket: ticketFor(c, body.user),
    stream: wantsEventStream(c.req.header('accept'), body.stream),
    requestId: c.get('requestId'),
    receivedAt: c.get('startedAt'),
    ...(idempotencyKey ? { idempotencyKey } : {}),
  });
  // The scope's next new conversation finds its object made (conversation/warm.ts).
  if (body.conversation_id === undefined) {
    c.executionCtx.waitUntil(prepareNextConversation(c.env, scope).catch(() => {}));
  }
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

/**
 * A request made with an embed token bound to an end user is that user's: a `user` in the
 * body may only repeat it (a page cannot speak for another user), and is filled in from it.
 */
function endUserOfToken(c: Context<AppEnv>, body: ChatRequest): ChatRequest {
  const bound = c.get('caller').token?.u;
  if (bound === undefined) return body;
  if (body.user !== undefined && body.user !== bound) {
    throw new ApiError(
      'permission_error',
      "This embed session token is bound to another end user than the request's user. Leave user out: the token's user is used.",
    );
  }
  return { ...body, user: bound };
}
