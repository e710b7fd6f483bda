/**
 * CORS for `/v1/*`. A browser may read an answer only when the request was made with a
 * publishable key from one of that key's `allowed_origins`: the decision needs the key, so
 * it is made after authentication, on the way out. A secret key's answers never carry
 * `Access-Control-Allow-Origin`, so no web page can read them, whatever its origin (a page
 * holding an `sk_` key has leaked it; the answer still must not reach that page's script).
 *
 * The preflight comes without credentials, so it cannot know the key: it is answered for
 * any real `http(s)` origin (never `null`). That lets a browser send the request; reading
 * the answer is what the check above decides.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';

const ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS';
const ALLOW_HEADERS = 'Authorization, Content-Type, Idempotency-Key, x-api-key';
const EXPOSE_HEADERS = 'request-id, Retry-After, RateLimit, RateLimit-Policy, Idempotent-Replayed';
/** Seconds a browser may keep a preflight's answer. */
const MAX_AGE = '600';

export function cors(): MiddlewareHandler<AppEnv> {
  return async function cors(c, next) {
    const origin = c.req.header('origin');
    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method')) {
      const headers: Record<string, string> = { Vary: 'Origin' };
      if (origin && /^https?:\/\//.test(origin)) {
        Object.assign(headers, {
          'Access-Control-Allow-Origin': origin,
          'Access-Control-Allow-Methods': ALLOW_METHODS,
          'Access-Control-Allow-Headers': ALLOW_HEADERS,
          'Access-Control-Max-Age': MAX_AGE,
        });
      }
      return c.body(null, 204, headers);
    }
    await next();
    c.res.headers.append('Vary', 'Origin');
    const key = c.get('apiKey');
    if (origin && key?.kind === 'publishable' && key.allowed_origins.includes(origin)) {
      c.res.headers.set('Access-Control-Allow-Origin', origin);
      c.res.headers.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    }
  };
}
