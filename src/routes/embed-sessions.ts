/**
 * `POST /v1/embed/sessions`: a short-lived `es_` token for one visitor of a site, minted by
 * the site's backend with its secret key (API.md §3). The token is good for one page origin,
 * optionally one end user, for `ttl_seconds` (default 15 min, at most an hour), with limits
 * no wider than the key's; the page hands it to `/embed.js`.
 */
import { Hono } from 'hono';
import {
  DEFAULT_TTL_SECONDS,
  type EmbedClaims,
  embedSessionRequest,
} from '../contract/embed-session';
import type { Limits } from '../contract/usage';
import { parseJson, validateWith } from '../contract/validate';
import type { AppEnv } from '../env';
import { ApiError, invalid } from '../errors';
import { randomToken } from '../lib/crypto';
import { limitsFor } from '../limits/policy';
import { requireSecretKey } from '../middleware/auth';
import { mintEmbedToken } from '../middleware/embed-token';
import { countRequest } from '../middleware/rate-limit';
import { allowTokenOrigin } from '../store/origins';

export const embedSessions = new Hono<AppEnv>();

embedSessions.use(
  requireSecretKey(
    "Embed session tokens are minted by a site's backend with its secret key (sk_…), never from a web page.",
  ),
);
embedSessions.use(countRequest());

embedSessions.post('/', async (c) => {
  const body = validateWith(embedSessionRequest, parseJson(await c.req.text()));
  const key = c.get('apiKey');
  const keyLimits = limitsFor(key, c.env);
  for (const [name, value] of Object.entries(body.limits ?? {}) as [keyof Limits, number][]) {
    if (value > keyLimits[name]) {
      throw invalid(
        `limits.${name}: ${value} is wider than this key's own ${keyLimits[name]}; a token's limits can only narrow the key's.`,
      );
    }
  }
  const expiresAt = Date.now() + (body.ttl_seconds ?? DEFAULT_TTL_SECONDS) * 1000;
  const claims: EmbedClaims = {
    id: randomToken(12),
    k: key.id,
    o: body.origin,
    ...(body.user !== undefined ? { u: body.user } : {}),
    exp: Math.floor(expiresAt / 1000),
    ...(body.limits ? { l: body.limits } : {}),
  };
  const token = await mintEmbedToken(c.env, claims);
  if (!token) {
    throw new ApiError(
      'api_error',
      'Embed session tokens are not set up: the operator must set EMBED_TOKEN_SECRET (or ADMIN_TOKEN).',
    );
  }
  // The page's preflights must be answered while the token lives.
  await allowTokenOrigin(c.env.KEYS, body.origin, claims.exp * 1000);
  return c.json(
    {
      token,
      expires_at: new Date(claims.exp * 1000).toISOString(),
      origin: body.origin,
      ...(body.user !== undefined ? { user: body.user } : {}),
      ...(body.limits ? { limits: body.limits } : {}),
    },
    201,
  );
});
