/**
 * Gives every request an id (`request-id` header, and `request_id` in every error body) and
 * writes its one log line when the answer's head is ready: request id, key id, route,
 * status, duration, and what the route and the error renderer added (conversation id, error
 * type). A turn also gets a line of its own from the conversation's object when it ends,
 * with the turn's figures (conversation/run.ts); the request id joins the two.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { randomToken } from '../lib/crypto';
import { logLine } from '../log';

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
    const line = {
      event: 'request',
      request_id: requestId,
      method: c.req.method,
      route: c.req.routePath,
      status: c.res.status,
      key_id: c.get('apiKey')?.id,
      ms: Date.now() - started,
      ...fields,
    };
    // Written after the answer's head has gone, off the path of a turn's upstream call.
    c.executionCtx.waitUntil(new Promise<void>((done) => setTimeout(() => done(logLine(line)), 0)));
  };
}
