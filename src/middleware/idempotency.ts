/**
 * Applies `Idempotency-Key` to a route (see store/idempotency.ts for the rules). A JSON
 * answer is stored here; a streamed one is stored by the turn's runner when its stream
 * ends (the route says so with `idempotencyDelegated`), and replayed as a complete event
 * stream.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { sha256Hex } from '../crypto';
import type { AppEnv } from '../env';
import { ApiError, invalid } from '../errors';
import { countHit } from '../limits/admission';
import { isStorable, ledger, type StoredAnswer } from '../store/idempotency';
import { replayAsEventStream, wantsEventStream } from '../sse';

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
    const store = ledger(c.env, c.get('apiKey').id);
    const claim = await store.claim({ key, bodyHash: await sha256Hex(await c.req.text()) });
    if (claim.state === 'running') {
      throw new ApiError(
        'conflict_error',
        'A request with this Idempotency-Key is still being processed. Retry when it has finished.',
        409,
        {
          'Retry-After': '1',
        },
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

    try {
      await next();
    } catch (err) {
      await store.release({ key });
      throw err;
    }
    // A streamed answer is known only when its stream ends: whoever runs it stores it.
    if (c.get('idempotencyDelegated')) return;
    const answer: StoredAnswer = { status: c.res.status, body: await c.res.clone().text() };
    if (isStorable(answer.status)) await store.complete({ key, answer });
    else await store.release({ key });
  };
}

/**
 * The first answer again: as JSON, or for a stream request as a complete event stream. A
 * replayed answer is a request like any other — it counts against the key's rate and
 * carries the RateLimit fields — while a replayed refusal stays uncounted, as refusals are.
 */
async function replay(c: Context<AppEnv>, answer: StoredAnswer) {
  if (answer.status >= 200 && answer.status < 300) await countHit(c);
  c.header('Idempotent-Replayed', 'true');
  const body = JSON.parse(answer.body);
  if (answer.status === 200 && wantsEventStream(c.req.header('accept'), await streamField(c))) {
    return c.body(replayAsEventStream(body), 200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    });
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
