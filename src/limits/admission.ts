/**
 * Asking the key's `KeyLimiter`, from wherever a request or turn is taken (the Worker, the
 * conversation's object): count a request, start a turn (count it, take a concurrent slot,
 * reserve its estimated input), and end or take back a turn. Plain data in and out, so a
 * turn's ticket can travel with the turn over RPC.
 */
import type { TurnUsage } from '../contract/answer';
import type { EndUser, Limits, TokenCharge } from '../contract/usage';
import { randomToken } from '../lib/crypto';
import { logError } from '../log';
import type { KeyRecord } from '../store/keys';
import { type Admission, limiterFor } from './limiter';
import { endUserOf, ipLimitFor, limitsFor } from './policy';

/**
 * What the limiter needs to count a request: the key's limits, for a `pk_` key the IP's,
 * and for a request with a `user` that end user and the key's per-user limits.
 */
export interface CountInput {
  limits: Limits;
  ip?: { address: string; limit: number };
  user?: EndUser;
  /** Already counted in the minute window when it came in (a job's turn). */
  counted?: boolean;
}

/**
 * An admitted turn, in a form that can travel to the Durable Object that runs it: the
 * slot is ended from there when the upstream call ends, however it ends.
 */
export interface TurnTicket extends CountInput {
  keyId: string;
  turnId: string;
}

/**
 * `user`: the end user to count the request for too (an id, held to the key's per-user
 * limits, or an `EndUser` with its limits already set). `web`: a web page's request, also
 * counted per client IP.
 */
export function countInput(
  env: Env,
  key: KeyRecord,
  clientIp: string | undefined,
  user?: string | EndUser,
  web = key.kind === 'publishable',
): CountInput {
  const ipLimit = web ? ipLimitFor(env) : undefined;
  return {
    limits: limitsFor(key, env),
    ...(ipLimit ? { ip: { address: clientIp ?? 'unknown', limit: ipLimit } } : {}),
    ...(user !== undefined ? { user: typeof user === 'string' ? endUserOf(key, user) : user } : {}),
  };
}

/**
 * A turn's ticket, made where the request is known (key, client IP, end user) and sent
 * with the turn.
 */
export function turnTicket(
  env: Env,
  key: KeyRecord,
  clientIp: string | undefined,
  user?: string | EndUser,
  web?: boolean,
): TurnTicket {
  return {
    keyId: key.id,
    turnId: randomToken(16),
    ...countInput(env, key, clientIp, user, web),
  };
}

/** The ticket for a turn of `user` (none: no end user): a job's turn is its stored body's. */
export function ticketForUser(
  ticket: TurnTicket,
  key: KeyRecord,
  user: string | undefined,
): TurnTicket {
  const { user: _previous, ...rest } = ticket;
  return user === undefined ? rest : { ...rest, user: endUserOf(key, user) };
}

/**
 * Counts one request that is not a turn in the key's minute window (and the client IP's and
 * end user's); `report`: an end user whose figures to report without counting for them.
 */
export function countHit(
  env: Env,
  keyId: string,
  input: CountInput,
  report?: EndUser,
): Promise<Admission> {
  return limiterFor(env, keyId).hit(input, report);
}

/** Takes back a request counted with `countHit` and then refused for another reason. */
export function uncountHit(env: Env, keyId: string, input: CountInput): Promise<void> {
  return limiterFor(env, keyId).uncount(input);
}

/**
 * Asks the key's limiter for the turn: counts the request, takes a concurrent slot, and
 * checks that the turn's estimated input (limits/estimate.ts) fits the day's tokens.
 */
export function startTurn(env: Env, ticket: TurnTicket, estimate: number): Promise<Admission> {
  const { keyId, ...input } = ticket;
  return limiterFor(env, keyId).startTurn({ ...input, estimate });
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

/** Frees the slot and charges the turn's tokens. Never throws. */
export async function endTurn(
  env: Env,
  ticket: TurnTicket,
  usage: TurnUsage | undefined,
): Promise<void> {
  try {
    await limiterFor(env, ticket.keyId).endTurn({
      turnId: ticket.turnId,
      charge: chargeFor(usage),
      limits: ticket.limits,
      ...(ticket.user ? { user: ticket.user } : {}),
    });
  } catch (err) {
    // The slot is reclaimed as stale later; the answer must not fail for it.
    logError('endTurn', err, { key_id: ticket.keyId });
  }
}

/** A turn admitted here but refused by its conversation: free the slot, uncount the request. */
export async function cancelTurn(env: Env, ticket: TurnTicket): Promise<void> {
  const { keyId, ...input } = ticket;
  await limiterFor(env, keyId)
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
  // A compaction is work Claude did for the turn: it is charged like the answer.
  const parts = usage.compaction ? [usage, usage.compaction] : [usage];
  let tokens = 0;
  let cache_creation = 0;
  let cache_read = 0;
  for (const part of parts) {
    tokens +=
      part.input_tokens +
      part.output_tokens +
      part.cache_creation_input_tokens +
      part.cache_read_input_tokens;
    cache_creation += part.cache_creation_input_tokens;
    cache_read += part.cache_read_input_tokens;
  }
  return { tokens, cache_creation, cache_read };
}
