/**
 * The Worker's side of the limits: one call to the key's `KeyLimiter` when a request or
 * turn starts (refusing with 429 + Retry-After, or stamping the RateLimit fields on the
 * answer), and one when a turn ends.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { TurnUsage } from '../anthropic/stream';
import { randomToken } from '../crypto';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import type { KeyRecord } from '../store/keys';
import type { Admission, KeyLimiter } from './limiter';
import {
  ipLimitFor,
  type Limits,
  limitsFor,
  rateLimitHeaders,
  refusalMessage,
  retryAfterSeconds,
  type TokenCharge,
  type UsageSnapshot,
} from './policy';

export function limiter(env: Env, key: KeyRecord): DurableObjectStub<KeyLimiter> {
  return limiterById(env, key.id);
}

function countInput(c: Context<AppEnv>) {
  const key = c.get('apiKey');
  const limits = limitsFor(key, c.env);
  const ipLimit = ipLimitFor(key, c.env);
  const address = c.req.header('cf-connecting-ip') ?? 'unknown';
  return { key, limits, ...(ipLimit ? { ip: { address, limit: ipLimit } } : {}) };
}

/** Throws the 429, or puts the RateLimit fields on the eventual answer. */
function apply(c: Context<AppEnv>, admission: Admission, ipLimit?: number) {
  const headers = rateLimitHeaders(admission.snapshot);
  if (!admission.ok) {
    const limit = admission.limit ?? 'requests_per_minute';
    throw new ApiError(
      'rate_limit_error',
      refusalMessage(limit, admission.snapshot, ipLimit, admission.estimate),
      429,
      {
        ...headers,
        'Retry-After': String(retryAfterSeconds(limit, admission.snapshot)),
      },
    );
  }
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
}

/**
 * Counts one request that is not a turn in the key's minute window (and the client IP's):
 * throws the 429, or puts the RateLimit fields on the answer.
 */
export async function countHit(c: Context<AppEnv>): Promise<UsageSnapshot> {
  const { key, ...input } = countInput(c);
  const admission = await limiter(c.env, key).hit(input);
  apply(c, admission, input.ip?.limit);
  return admission.snapshot;
}

/** For every authenticated `/v1/*` request that is not a turn: counts it in the minute window. */
export function countRequest(): MiddlewareHandler<AppEnv> {
  return async function countRequest(c, next) {
    c.set('limitSnapshot', await countHit(c));
    await next();
  };
}

/**
 * An admitted turn, in a form that can travel to the Durable Object that runs it: the
 * slot is ended from there when the upstream call ends, however it ends.
 */
export interface TurnTicket {
  keyId: string;
  turnId: string;
  limits: Limits;
  ip?: { address: string; limit: number };
}

/** A turn's ticket, made where the request is known (key, client IP) and sent with the turn. */
export function turnTicket(c: Context<AppEnv>): TurnTicket {
  const { key, ...input } = countInput(c);
  return { keyId: key.id, turnId: randomToken(16), ...input };
}

/**
 * Asks the key's limiter for the turn: counts the request, takes a concurrent slot, and
 * checks that the turn's estimated input (limits/estimate.ts) fits the day's tokens.
 */
export function startTurn(env: Env, ticket: TurnTicket, estimate: number): Promise<Admission> {
  const { keyId: _keyId, ...input } = ticket;
  return limiterById(env, ticket.keyId).startTurn({ ...input, estimate });
}

/** The limiter's answer on the response: the 429, or the RateLimit fields on the answer. */
export function applyAdmission(c: Context<AppEnv>, admission: Admission, ticket: TurnTicket) {
  apply(c, admission, ticket.ip?.limit);
}

/** The turn was refused after the limiter was asked: if it was admitted, give it back. */
export async function withdraw(
  env: Env,
  ticket: TurnTicket,
  admitting: Promise<Admission>,
): Promise<void> {
  const admission = await admitting.catch(() => null);
  if (admission?.ok) await cancelTurn(env, ticket);
}

function limiterById(env: Env, keyId: string) {
  return env.LIMITER.get(env.LIMITER.idFromName(keyId));
}

/** Frees the slot and charges the turn's tokens. Never throws. */
export async function endTurn(
  env: Env,
  ticket: TurnTicket,
  usage: TurnUsage | undefined,
): Promise<void> {
  try {
    await limiterById(env, ticket.keyId).endTurn({
      turnId: ticket.turnId,
      charge: chargeFor(usage),
      limits: ticket.limits,
    });
  } catch (err) {
    // The slot is reclaimed as stale later; the answer must not fail for it.
    console.error(
      JSON.stringify({
        level: 'error',
        where: 'endTurn',
        key_id: ticket.keyId,
        error: String(err),
      }),
    );
  }
}

/** A turn admitted here but refused by its conversation: free the slot, uncount the request. */
export async function cancelTurn(env: Env, ticket: TurnTicket): Promise<void> {
  const { keyId: _keyId, ...input } = ticket;
  await limiterById(env, ticket.keyId)
    .cancelTurn(input)
    .catch(() => {});
}

/**
 * What a turn costs the key's daily budget: every token Claude processed or wrote — input
 * whether uncached, written to or read from the prompt cache, plus output, thinking
 * included. Cache reads are cheap in money (0.1×), but the budget counts tokens, so a
 * budget means the same thing whether or not a prefix happened to be cached.
 */
function chargeFor(usage: TurnUsage | undefined): TokenCharge {
  if (!usage) return { tokens: 0, cache_creation: 0, cache_read: 0 };
  const cache_creation = usage.cache_creation_input_tokens;
  const cache_read = usage.cache_read_input_tokens;
  return {
    tokens: usage.input_tokens + usage.output_tokens + cache_creation + cache_read,
    cache_creation,
    cache_read,
  };
}
