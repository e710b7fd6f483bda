/**
 * Gives every request an id (`request-id` header, and `request_id` in every error body) and
 * writes exactly one structured log line for it: request id, key id, route, status,
 * duration, and for turns the conversation, time to first text and tokens. A turn's line
 * is written by the Durable Object that runs it, when the turn ends, so it carries the
 * turn's real figures.
 * Nothing secret is logged: no keys, no bodies, no signatures.
 */
import type { MiddlewareHandler } from 'hono';
import { randomToken } from '../crypto';
import type { AppEnv } from '../env';

export function requestContext(): MiddlewareHandler<AppEnv> {
  return async function requestContext(c, next) {
    const requestId = `req_${randomToken(20)}`;
    const started = Date.now();
    const fields: Record<string, unknown> = {};
    c.set('requestId', requestId);
    c.set('startedAt', started);
    c.set('log', fields);
    await next();
    c.res.headers.set('request-id', requestId);
    const write = () =>
      console.log(
        JSON.stringify({
          request_id: requestId,
          method: c.req.method,
          route: c.req.routePath,
          status: c.res.status,
          key_id: c.get('apiKey')?.id,
          ms: Date.now() - started,
          ...fields,
        }),
      );
    if (!c.get('logDelegated')) write();
  };
}
