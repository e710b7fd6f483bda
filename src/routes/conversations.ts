/**
 * `/v1/conversations/:id`: the transcript without any thinking data (`GET`), `DELETE`, for a
 * running turn its events (`GET …/events`, to reattach) and `POST …/cancel`, and the size of
 * the next turn (`POST …/count_tokens`).
 */
import { Hono } from 'hono';
import { upstreamHistory } from '../anthropic/compaction';
import { countTokensParams } from '../anthropic/count-tokens';
import { settings } from '../config';
import { conversationCountRequest } from '../contract/count-tokens-request';
import { parseJson, validateWith } from '../contract/validate';
import { conversationFor, type EventId } from '../conversation/object';
import { planTurn } from '../conversation/plan';
import { SSE_HEADERS } from '../conversation/sse';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { countRequest } from '../middleware/rate-limit';
import { type Conversation, loadConversation, transcript } from '../store/conversations';
import { countUpstream, secretKeysOnly } from './count-tokens';

export const conversations = new Hono<AppEnv>();

conversations.use(countRequest());

/** Ids are ours (`c_` + base62); anything else cannot exist and must not reach KV (512-byte keys). */
const CONVERSATION_ID = /^c_[A-Za-z0-9]{1,64}$/;

function notFound(id: string) {
  return new ApiError(
    'not_found_error',
    `conversation "${id.slice(0, 80)}" was not found (it may have expired or been deleted).`,
  );
}

conversations.get('/:id', async (c) => {
  const id = c.req.param('id');
  if (!CONVERSATION_ID.test(id)) throw notFound(id);
  const keyId = c.get('caller').scope;
  const [stored, running] = await Promise.all([
    loadConversation(c.env.CONVERSATIONS, keyId, id),
    conversationFor(c.env, keyId, id).runningTurn(),
  ]);
  // A new conversation is in KV only from its first turn's end: while that runs, the
  // object's copy answers.
  const conversation =
    stored ?? (running?.starting ? (JSON.parse(running.starting) as Conversation) : null);
  if (!conversation) throw notFound(id);
  return c.json({
    ...transcript(conversation),
    ...(running ? { running: { turn: running.turn, started_at: running.started_at } } : {}),
  });
});

conversations.delete('/:id', async (c) => {
  const id = c.req.param('id');
  if (!CONVERSATION_ID.test(id)) throw notFound(id);
  const keyId = c.get('caller').scope;
  const stored = await loadConversation(c.env.CONVERSATIONS, keyId, id);
  // The conversation's object deletes it, stopping a running turn first so that the turn
  // cannot write it back (a new conversation has a running turn before it is in KV).
  const { existed } = await conversationFor(c.env, keyId, id).forget(keyId, id);
  if (!stored && !existed) throw notFound(id);
  return c.body(null, 204);
});

/**
 * `POST /v1/conversations/:id/cancel`: stops the running turn now (its upstream call is
 * aborted, its stream ends with `cancelled`, its slot is freed, its tokens so far charged);
 * nothing of it is stored. `409` when no turn runs; `404` for a conversation this key does
 * not have.
 */
conversations.post('/:id/cancel', async (c) => {
  const id = c.req.param('id');
  if (!CONVERSATION_ID.test(id)) throw notFound(id);
  const keyId = c.get('caller').scope;
  const cancelled = await conversationFor(c.env, keyId, id).cancel();
  if (cancelled) return c.json({ cancelled: true, turn: cancelled.turn });
  if (!(await loadConversation(c.env.CONVERSATIONS, keyId, id))) throw notFound(id);
  throw new ApiError(
    'conflict_error',
    'No turn of this conversation is running, so there is nothing to cancel.',
  );
});

/** An event id as our streams send it: `<turn>:<seq>`, turn from 1, seq from 0. */
const EVENT_ID = /^([1-9]\d{0,8}):(0|[1-9]\d{0,8})$/;

/**
 * Which event a reader last saw: `Last-Event-ID` (what an EventSource sends when it
 * reconnects, so it wins over the URL it first used) or `?after=`; null for none.
 */
function lastSeen(header: string | undefined, query: string | undefined): EventId | null {
  const [name, value] = header ? ['Last-Event-ID', header] : ['after', query];
  if (value === undefined || value === '') return null;
  const match = EVENT_ID.exec(value.trim());
  if (!match) {
    throw new ApiError(
      'invalid_request_error',
      `${name} must be an event id as sent on the stream's id: lines, <turn>:<seq> (e.g. "3:17"); got "${value.slice(0, 40)}".`,
    );
  }
  return { turn: Number(match[1]), seq: Number(match[2]) };
}

/**
 * `GET /v1/conversations/:id/events`: reattach to a turn. The events after the id given,
 * byte for byte as first sent, then the live ones to the turn's end; without an id the
 * running turn from its start, or else the last finished turn. `204` when the id is the
 * last event of a turn that has ended, which also tells an EventSource to stop reconnecting.
 */
conversations.get('/:id/events', async (c) => {
  const id = c.req.param('id');
  if (!CONVERSATION_ID.test(id)) throw notFound(id);
  const after = lastSeen(c.req.header('last-event-id'), c.req.query('after'));
  const read = await conversationFor(c.env, c.get('caller').scope, id).events(after);
  switch (read.kind) {
    case 'unknown':
      throw notFound(id);
    case 'error':
      throw ApiError.from(read.error);
    case 'ended':
      return c.body(null, 204);
    case 'stream':
      return c.body(read.stream, 200, SSE_HEADERS);
  }
});

/**
 * `POST /v1/conversations/:id/count_tokens` `{"message"}`: Claude's count of what the next
 * turn would send — the stored history with its thinking blocks, system, tools and the new
 * message — planned as `/v1/chat` plans the turn, so that a message the turn would refuse
 * (tool calls pending, say) is the same 400 here. Reads the conversation as stored: a turn
 * still running is not in it yet.
 */
conversations.post('/:id/count_tokens', secretKeysOnly, async (c) => {
  const id = c.req.param('id');
  if (!CONVERSATION_ID.test(id)) throw notFound(id);
  const { message } = validateWith(conversationCountRequest, parseJson(await c.req.text()));
  const { scope } = c.get('caller');
  const stored = await loadConversation(c.env.CONVERSATIONS, scope, id);
  if (!stored) throw notFound(id);
  const turn = planTurn(
    settings(c.env),
    { body: { conversation_id: id, message }, key: c.get('apiKey'), conversationId: id, scope },
    stored,
  );
  c.get('log').conversation_id = id;
  const messages = [...upstreamHistory(turn.conversation.messages), turn.userMessage];
  return countUpstream(
    c,
    JSON.stringify(countTokensParams(turn.params, messages)),
    new Headers(turn.betas.length > 0 ? { 'anthropic-beta': turn.betas.join(',') } : {}),
  );
});
