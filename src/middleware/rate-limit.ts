/**
 * The Worker's side of the key's limits: a request that is not a turn is counted here
 * (refused with the 429, or answered with the RateLimit fields); a turn is counted by its
 * conversation's object with the ticket made here, and its verdict's fields are put on the
 * answer by the route. A request's `user` (already validated) is counted for that end user
 * too, under the key's per-user limits.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { UsageSnapshot } from '../contract/usage';
import type { AppEnv } from '../env';
import { randomToken } from '../lib/crypto';
import {
  countHit,
  countInput,
  type CountInput,
  type TurnTicket,
  uncountHit,
} from '../limits/admission';
import { endUserOf, rateLimitHeaders, refusalError, tokenUser } from '../limits/policy';

const clientIp = (c: Context<AppEnv>) => c.req.header('cf-connecting-ip');

/**
 * What the limiter counts this request as: the key's, the client IP's for a web page, and an
 * end user's — an embed token's own (its user, or itself), else the request's `user`.
 */
function inputFor(c: Context<AppEnv>, user?: string): CountInput {
  const key = c.get('apiKey');
  const caller = c.get('caller');
  const token = caller.token;
  return countInput(
    c.env,
    key,
    clientIp(c),
    token ? tokenUser(key, token) : user,
    caller.kind !== 'secret',
  );
}

/** Counts this request: throws the 429, or puts the RateLimit fields on the answer. */
export async function countThisRequest(c: Context<AppEnv>, user?: string): Promise<UsageSnapshot> {
  const key = c.get('apiKey');
  const input = inputFor(c, user);
  const admission = await countHit(c.env, key.id, input);
  if (!admission.ok) throw refusalError(admission, input.ip?.limit);
  setHeaders(c, rateLimitHeaders(admission.snapshot));
  return admission.snapshot;
}

/**
 * Counts this request for the key only, and reports `user`'s figures beside the key's
 * (`GET /v1/usage?user=`): looking an end user up is not a request of theirs, so the
 * RateLimit fields show the key's windows alone.
 */
export async function countReporting(c: Context<AppEnv>, user: string): Promise<UsageSnapshot> {
  const key = c.get('apiKey');
  const { user: _own, ...input } = inputFor(c);
  const admission = await countHit(c.env, key.id, input, endUserOf(key, user));
  const { user: _reported, ...keyOnly } = admission.snapshot;
  if (!admission.ok) throw refusalError({ ...admission, snapshot: keyOnly }, input.ip?.limit);
  setHeaders(c, rateLimitHeaders(keyOnly));
  return admission.snapshot;
}

/**
 * Counts this request while other work goes on (the limiter's call and, say, a Durable
 * Object's check at once): `apply()` then throws the 429 or sets the RateLimit fields, and
 * `withdraw()` takes the count back when the request is refused for another reason.
 */
export function countAlongside(c: Context<AppEnv>, user?: string) {
  const key = c.get('apiKey');
  const input = inputFor(c, user);
  const counting = countHit(c.env, key.id, input);
  counting.catch(() => {}); // awaited by apply() or withdraw()
  return {
    async apply(): Promise<void> {
      const admission = await counting;
      if (!admission.ok) throw refusalError(admission, input.ip?.limit);
      setHeaders(c, rateLimitHeaders(admission.snapshot));
    },
    async withdraw(): Promise<void> {
      const admission = await counting.catch(() => null);
      if (admission?.ok) await uncountHit(c.env, key.id, input).catch(() => {});
    },
  };
}

/** For every authenticated `/v1/*` request that is not a turn: counts it in the minute window. */
export function countRequest(): MiddlewareHandler<AppEnv> {
  return async function countRequest(c, next) {
    await countThisRequest(c);
    await next();
  };
}

/** This request's turn ticket, for the conversation's object to ask the limiter with. */
export function ticketFor(c: Context<AppEnv>, user?: string): TurnTicket {
  return { keyId: c.get('apiKey').id, turnId: randomToken(16), ...inputFor(c, user) };
}

export function setHeaders(c: Context<AppEnv>, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}
