/**
 * Who may call what: `/admin/*` only with ADMIN_TOKEN (compared in constant time), `/v1/*`
 * with a client key or an embed session token. Publishable keys (`pk_…`) live in web pages,
 * so they are accepted only from their `allowed_origins`; an `es_` token only from the one
 * origin it was minted for.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { secretsEqual, sha256Hex } from '../lib/crypto';
import { refuseFlood } from './flood';
import { findKey, findLiveKeyById } from '../store/keys';
import { readEmbedToken } from './embed-token';

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
    const origin = c.req.header('origin');
    if (token.startsWith('es_')) {
      const { key, claims } = await embedCaller(c, token);
      if (origin !== claims.o) {
        throw new ApiError(
          'permission_error',
          `This embed session token is for the page origin ${claims.o}${origin ? `, not ${origin}` : ', and the request has no Origin header'}. Mint a token for the page's own origin.`,
        );
      }
      c.set('apiKey', key);
      c.set('caller', {
        kind: 'embed',
        scope: claims.u !== undefined ? await userScope(key.id, claims.u) : key.id,
        origin,
        token: claims,
      });
      return next();
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
    c.set('caller', {
      kind: key.kind,
      scope: key.id,
      ...(key.kind === 'publishable' ? { origin } : {}),
    });
    await next();
  };
}

/** An `es_` token's key and claims: signed by us, unexpired, its key live and secret. */
async function embedCaller(c: Context<AppEnv>, token: string) {
  const env = c.env;
  const claims = await readEmbedToken(env, token);
  if (!claims) {
    await refuseFlood(c);
    throw new ApiError(
      'authentication_error',
      'Invalid embed session token: it was not minted here, or was altered. Mint a new one with POST /v1/embed/sessions.',
    );
  }
  if (claims.exp * 1000 <= Date.now()) {
    throw new ApiError(
      'authentication_error',
      `This embed session token expired at ${new Date(claims.exp * 1000).toISOString()}. Ask the site for a new one (the chat box does so through its data-token-url).`,
    );
  }
  const key = await findLiveKeyById(env.KEYS, claims.k);
  if (!key || key.kind !== 'secret') {
    throw new ApiError(
      'authentication_error',
      'This embed session token was revoked with the key that minted it.',
    );
  }
  return { key, claims };
}

/** The conversations of one end user of a key: an opaque tag of the user, never the id itself. */
async function userScope(keyId: string, user: string): Promise<string> {
  return `${keyId}~${(await sha256Hex(user)).slice(0, 24)}`;
}

/**
 * For routes a web page must never reach (`pk_` keys and `es_` tokens get `403`), checked
 * before the request is counted. `why`: the sentence that tells the caller what to use.
 */
export function requireSecretKey(why: string): MiddlewareHandler<AppEnv> {
  return async function requireSecretKey(c, next) {
    if (c.get('caller').kind !== 'secret') throw new ApiError('permission_error', why);
    await next();
  };
}
