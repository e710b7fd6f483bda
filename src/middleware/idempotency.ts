/**
 * `Idempotency-Key` on a route (the rules: store/idempotency.ts). Claims the key before the
 * route runs and replays a stored answer instead of running it again. The claimed key is
 * handed to the route (`idempotencyKey`), whose producer stores the answer — a turn's is
 * stored by the conversation's object when the turn ends, a stream's included; a refusal
 * (an error thrown on the way) is settled here.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { frames, replayEvents, SSE_HEADERS } from '../conversation/sse';
import type { AppEnv } from '../env';
import { ApiError, invalid } from '../errors';
import { sha256Hex } from '../lib/crypto';
import { ledgerFor, settle, type StoredAnswer } from '../store/idempotency';
import { wantsEventStream } from '../contract/chat-request';
import { countThisRequest } from './rate-limit';

const VALID_KEY = /^[\x21-\x7e]{1,255}$/;

export function idempotency(): MiddlewareHandler<AppEnv> {
  return async function idempotency(c, next) {
    const key = c.req.header('idempotency-key');
    if (key === undefined) return next();
    if (!VALID_KEY.test(key)) {
      throw invalid(
        'Idempotency-Key must be 1-255 visible ASCII characters (a UUID is a good choice).',
      );
    }
    const keyId = c.get('apiKey').id;
    const { scope } = c.get('caller');
    // An end user's token has Idempotency-Keys of its own: another user's same key is another.
    const claimed = scope === keyId ? key : `${scope}|${key}`;
    const bodyHash = await sha256Hex(await c.req.text());
    const claim = await ledgerFor(c.env, keyId).claim({ key: claimed, bodyHash });
    if (claim.state === 'running') {
      throw new ApiError(
        'conflict_error',
        'A request with this Idempotency-Key is still being processed. Retry when it has finished.',
        409,
        { 'Retry-After': '1' },
      );
    }
    if (claim.state === 'mismatch') {
      throw new ApiError(
        'invalid_request_error',
        'This Idempotency-Key was already used with a different request body. Use a new key for a new request.',
        422,
      );
    }
    if (claim.state === 'done') return replay(c, claim.answer);

    c.set('idempotencyKey', claimed);
    await next();
    // Hono has rendered a thrown error by now (c.error): a refusal, settled here.
    if (c.error) {
      await settle(c.env, keyId, claimed, {
        status: c.res.status,
        body: await c.res.clone().text(),
      });
    }
  };
}

/**
 * The first answer again: as JSON, or for a stream request as a complete event stream. A
 * replayed answer is a request like any other — it counts against the key's rate (and its
 * end user's) and carries the RateLimit fields — while a replayed refusal stays uncounted,
 * as refusals are.
 */
async function replay(c: Context<AppEnv>, answer: StoredAnswer) {
  if (answer.status >= 200 && answer.status < 300) {
    // Only a 2xx's body is known valid: a refused one's `user` may be what was refused.
    const user = await userField(c);
    if (user !== undefined) c.get('log').user = user;
    await countThisRequest(c, user);
  }
  c.header('Idempotent-Replayed', 'true');
  const body = JSON.parse(answer.body);
  if (answer.status === 200 && wantsEventStream(c.req.header('accept'), await streamField(c))) {
    return c.body(frames(body.turn, replayEvents(body)), 200, SSE_HEADERS);
  }
  return c.json(body, answer.status as 200);
}

/** The request's own `stream` flag (the body matched the first request's, so it parsed then). */
async function streamField(c: Context<AppEnv>): Promise<boolean | undefined> {
  try {
    const stream = (JSON.parse(await c.req.text()) as { stream?: unknown }).stream;
    return typeof stream === 'boolean' ? stream : undefined;
  } catch {
    return undefined;
  }
}

/** The request's own `user`, its end user (a replayed 2xx's body was valid then). */
async function userField(c: Context<AppEnv>): Promise<string | undefined> {
  try {
    const user = (JSON.parse(await c.req.text()) as { user?: unknown }).user;
    return typeof user === 'string' ? user : undefined;
  } catch {
    return undefined;
  }
}
