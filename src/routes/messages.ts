/**
 * `POST /v1/messages`: the Messages API for the official SDKs, through the edge (API.md §3).
 * validate what the edge acts on → the key's limits (a turn: one request, a concurrent slot,
 * its estimated input) → Claude with the operator's key → the answer as Claude sent it, its
 * usage read on the side and charged when the upstream call ends, however it ends. The client
 * keeps its own history; nothing is stored.
 */
import { Hono } from 'hono';
import { forward } from '../anthropic/forward';
import { checkAllowedModel } from '../anthropic/models';
import { tapUsage, usageOf } from '../anthropic/usage-tap';
import type { TurnUsage } from '../contract/answer';
import { type MessagesRequest, messagesRequest } from '../contract/messages-request';
import { parseJson, validateWith } from '../contract/validate';
import { settings } from '../config';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { endTurn, startTurn } from '../limits/admission';
import { estimateTurnInput } from '../limits/estimate';
import { rateLimitHeaders, refusalError } from '../limits/policy';
import { logError } from '../log';
import { requireSecretKey } from '../middleware/auth';
import { setHeaders, ticketFor } from '../middleware/rate-limit';

export const messages = new Hono<AppEnv>();

messages.use(
  requireSecretKey(
    '/v1/messages takes a secret key (sk_…): the client holds the whole conversation, thinking signatures included, which a web page must never see. Web pages use /v1/chat.',
  ),
);

messages.post('/', async (c) => {
  const text = await c.req.text();
  const body = validateWith(messagesRequest, parseJson(text));
  const { allowedModels } = settings(c.env);
  checkAllowedModel(body.model, allowedModels);
  const user = body.metadata?.user_id ?? undefined;
  Object.assign(c.get('log'), { model: body.model, ...(user !== undefined ? { user } : {}) });

  const ticket = ticketFor(c, user);
  const estimate = estimateTurnInput(null, {
    system: body.system,
    tools: body.tools,
    message: body.messages,
  });
  const admission = await startTurn(c.env, ticket, estimate);
  if (!admission.ok) throw refusalError(admission, ticket.ip?.limit);
  setHeaders(c, rateLimitHeaders(admission.snapshot));
  // Ends the turn's slot and charges it, once, however the call ends.
  const finish = (usage: TurnUsage | undefined) => endTurn(c.env, ticket, usage);

  let upstream: Response;
  try {
    upstream = await forward(
      c.env,
      '/v1/messages',
      withDisplayOmitted(body, text),
      c.req.raw.headers,
    );
  } catch (err) {
    logError('messages', err, { key_id: ticket.keyId });
    await finish(undefined);
    throw new ApiError('api_error', 'The Messages API could not be reached. Retry the request.');
  }
  const headers = Object.fromEntries(upstream.headers);
  const status = upstream.status as 200;
  if (upstream.ok && upstream.body && isEventStream(upstream)) {
    c.get('log').stream = true;
    let ended: (settled: Promise<void>) => void = () => {};
    // The Worker stays until the slot is ended, also when the client goes away mid-stream.
    c.executionCtx.waitUntil(new Promise<void>((resolve) => (ended = resolve)));
    const stream = tapUsage(upstream.body, (usage) => {
      const settled = finish(usage);
      ended(settled);
      return settled;
    });
    return c.body(stream, status, headers);
  }
  const answer = await upstream.text();
  await finish(upstream.ok ? usageOf(answer) : undefined);
  return c.body(answer, status, headers);
});

/** The edge's speed-up: thinking text is not sent unless the client asked for it. */
function withDisplayOmitted(body: MessagesRequest, text: string): string {
  const thinking = body.thinking;
  if (!thinking || thinking.display !== undefined) return text;
  if (thinking.type !== 'enabled' && thinking.type !== 'adaptive') return text;
  return JSON.stringify({ ...body, thinking: { ...thinking, display: 'omitted' } });
}

function isEventStream(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
}
