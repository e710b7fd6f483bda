/**
 * Who may call what: `/admin/*` only with ADMIN_TOKEN (compared in constant time), `/v1/*`
 * with a client key. Publishable keys (`pk_…`) live in web pages, so they are accepted
 * only from their `allowed_origins`.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { secretsEqual } from '../lib/crypto';
import { refuseFlood } from './flood';
import { findKey } from '../store/keys';

function bearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

/** Says what is wrong with the Authorization header the client did send, if it sent one. */
function missingKeyMessage(authorization: string | undefined): string {
  if (authorization === undefined) return 'Missing API key: send "Authorization: Bearer <key>".';
  // Two Authorization headers arrive joined by a comma.
  if (authorization.includes(','))
    return 'The Authorization header was sent more than once. Send exactly one: "Authorization: Bearer <key>".';
  return 'The Authorization header is not of the form "Bearer <key>". Send "Authorization: Bearer <key>" (one key, no quotes).';
}

export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdmin(c, next) {
    const token = bearer(c.req.header('authorization'));
    if (!c.env.ADMIN_TOKEN) {
      throw new ApiError(
        'authentication_error',
        'The admin API is disabled: the operator has not set ADMIN_TOKEN.',
      );
    }
    if (!token || !(await secretsEqual(token, c.env.ADMIN_TOKEN))) {
      await refuseFlood(c);
      throw new ApiError(
        'authentication_error',
        'Send the admin token as "Authorization: Bearer <ADMIN_TOKEN>".',
      );
    }
    await next();
  };
}

export function requireApiKey(): MiddlewareHandler<AppEnv> {
  return async function requireApiKey(c, next) {
    const authorization = c.req.header('authorization');
    const token = bearer(authorization) ?? c.req.header('x-api-key') ?? null;
    if (!token) {
      await refuseFlood(c);
      throw new ApiError('authentication_error', missingKeyMessage(authorization));
    }
    const key = /^(sk|pk)_[A-Za-z0-9]{16,64}$/.test(token)
      ? await findKey(c.env.KEYS, token)
      : null;
    if (!key) {
      await refuseFlood(c);
      throw new ApiError(
        'authentication_error',
        'Invalid API key: it is unknown or was revoked. Ask the operator for a key.',
      );
    }
    if (key.kind === 'publishable') {
      const origin = c.req.header('origin');
      if (!origin || !key.allowed_origins.includes(origin)) {
        throw new ApiError(
          'permission_error',
          origin
            ? `This publishable key is not allowed from origin ${origin}. The operator can add it to the key's allowed_origins.`
            : 'A publishable key is accepted only from a web page of its allowed_origins (the request has no Origin header). Use a secret key from servers.',
        );
      }
    }
    c.set('apiKey', key);
    await next();
  };
}
