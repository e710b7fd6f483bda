/**
 * The Worker's side of the key's limits: a request that is not a turn is counted here
 * (refused with the 429, or answered with the RateLimit fields); a turn is counted by its
 * conversation's object with the ticket made here, and its verdict's fields are put on the
 * answer by the route.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { UsageSnapshot } from '../contract/usage';
import type { AppEnv } from '../env';
import { countHit, countInput, type TurnTicket, turnTicket } from '../limits/admission';
import { rateLimitHeaders, refusalError } from '../limits/policy';

const clientIp = (c: Context<AppEnv>) => c.req.header('cf-connecting-ip');

/** Counts this request: throws the 429, or puts the RateLimit fields on the answer. */
export async function countThisRequest(c: Context<AppEnv>): Promise<UsageSnapshot> {
  const key = c.get('apiKey');
  const input = countInput(c.env, key, clientIp(c));
  const admission = await countHit(c.env, key.id, input);
  if (!admission.ok) throw refusalError(admission, input.ip?.limit);
  setHeaders(c, rateLimitHeaders(admission.snapshot));
  return admission.snapshot;
}

/** For every authenticated `/v1/*` request that is not a turn: counts it in the minute window. */
export function countRequest(): MiddlewareHandler<AppEnv> {
  return async function countRequest(c, next) {
    c.set('limitSnapshot', await countThisRequest(c));
    await next();
  };
}

/** This request's turn ticket, for the conversation's object to ask the limiter with. */
export function ticketFor(c: Context<AppEnv>): TurnTicket {
  return turnTicket(c.env, c.get('apiKey'), clientIp(c));
}

export function setHeaders(c: Context<AppEnv>, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}
