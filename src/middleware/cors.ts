/**
 * CORS for `/v1/*`. A browser may read an answer only when the request was made with a
 * publishable key from one of that key's `allowed_origins`, or with an embed session token
 * from the origin it was minted for: the decision needs the caller, so it is made after
 * authentication, on the way out. A secret key's answers never carry
 * `Access-Control-Allow-Origin`, so no web page can read them, whatever its origin (a page
 * holding an `sk_` key has leaked it; the answer still must not reach that page's script).
 *
 * The preflight comes without credentials, so it cannot know the key: it is answered for
 * the origins some publishable key allows (store/origins.ts), with the origin echoed exactly;
 * any other origin gets a `403`, so a browser does not even send the request.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { originAllowed } from '../store/origins';

const ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS';
// Last-Event-ID: a page's script reattaching to a turn sets it itself (fetch, not EventSource).
const ALLOW_HEADERS = 'Authorization, Content-Type, Idempotency-Key, Last-Event-ID, x-api-key';
const EXPOSE_HEADERS = 'request-id, Retry-After, RateLimit, RateLimit-Policy, Idempotent-Replayed';
/** Seconds a browser may keep a preflight's answer: a revoked origin stops working within it. */
const MAX_AGE = '600';

export function cors(): MiddlewareHandler<AppEnv> {
  return async function cors(c, next) {
    const origin = c.req.header('origin');
    if (c.req.method === 'OPTIONS' && c.req.header('access-control-request-method')) {
      if (!origin || !/^https?:\/\//.test(origin) || !(await originAllowed(c.env.KEYS, origin))) {
        throw new ApiError(
          'permission_error',
          `No publishable key allows the origin ${JSON.stringify(origin ?? null).slice(0, 120)}. The operator lists a page's exact origin (scheme://host[:port]) in a publishable key's allowed_origins.`,
          403,
          { Vary: 'Origin' },
        );
      }
      return c.body(null, 204, {
        Vary: 'Origin',
        'Access-Control-Allow-Origin': origin,
        'Access-Control-Allow-Methods': ALLOW_METHODS,
        'Access-Control-Allow-Headers': ALLOW_HEADERS,
        'Access-Control-Max-Age': MAX_AGE,
      });
    }
    await next();
    c.res.headers.append('Vary', 'Origin');
    if (!origin) return;
    const caller = c.get('caller');
    // A web caller's answers, to its own page; and an error (it holds no data) to a page of
    // a known origin, so that a chat box can say what went wrong (an expired token's 401).
    const readable =
      caller && caller.kind !== 'secret'
        ? caller.origin === origin
        : c.res.status >= 400 && !caller && (await originAllowed(c.env.KEYS, origin));
    if (readable) {
      c.res.headers.set('Access-Control-Allow-Origin', origin);
      c.res.headers.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    }
  };
}
