/**
 * Gives every request an id (`request-id` header, and `request_id` in every error body) and
 * writes one structured log line when it ends. Nothing secret is logged: no keys, no bodies.
 */
import type { MiddlewareHandler } from 'hono';
import { randomToken } from '../crypto';
import type { AppEnv } from '../env';

export function requestContext(): MiddlewareHandler<AppEnv> {
  return async function requestContext(c, next) {
    const requestId = `req_${randomToken(20)}`;
    const started = Date.now();
    c.set('requestId', requestId);
    await next();
    c.res.headers.set('request-id', requestId);
    console.log(
      JSON.stringify({
        request_id: requestId,
        method: c.req.method,
        route: c.req.routePath,
        status: c.res.status,
        key_id: c.get('apiKey')?.id,
        ms: Date.now() - started,
      }),
    );
  };
}
