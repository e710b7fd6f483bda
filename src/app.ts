/**
 * The Hono app: cross-cutting middleware, then one sub-app per resource. Errors from
 * anywhere are rendered by `renderError` in the contract's shape; a known path with a
 * method its router does not serve is a 405 listing the ones it does.
 */
import { Hono } from 'hono';
import type { AppEnv } from './env';
import { ApiError } from './errors';
import { requireAdmin, requireApiKey } from './middleware/auth';
import { limitBody } from './middleware/body-limit';
import { cors } from './middleware/cors';
import { floodFilter } from './middleware/flood';
import { idempotency } from './middleware/idempotency';
import { renderError } from './middleware/render-error';
import { requestContext } from './middleware/request-context';
import { admin } from './routes/admin';
import { chat } from './routes/chat';
import { conversations } from './routes/conversations';
import { countTokens } from './routes/count-tokens';
import { docs } from './routes/docs';
import { embed } from './routes/embed';
import { embedSessions } from './routes/embed-sessions';
import { jobs } from './routes/jobs';
import { messages } from './routes/messages';
import { usage } from './routes/usage';

export const app = new Hono<AppEnv>();

app.use(requestContext());
app.use('/v1/*', cors());
app.use('/v1/*', requireApiKey());
app.use('/admin/*', requireAdmin());
// After authentication: a caller without a valid key gets its 401 before its body is read.
app.use(limitBody());

app.use('/health', floodFilter());
app.use('/docs', floodFilter());
app.use('/openapi.json', floodFilter());
app.use('/embed.js', floodFilter());

app.get('/health', (c) => c.json({ status: 'ok' }));
app.route('/', docs);
app.route('/', embed);
app.use('/v1/chat', idempotency());
app.route('/v1/chat', chat);
app.route('/v1/conversations', conversations);
app.route('/v1/messages/count_tokens', countTokens);
app.use('/v1/jobs', idempotency());
app.route('/v1/jobs', jobs);
app.route('/v1/usage', usage);
app.route('/v1/messages', messages);
app.route('/v1/embed/sessions', embedSessions);
app.route('/admin', admin);

app.notFound((c) => {
  const allowed = methodsServedAt(c.req.path);
  if (allowed.length > 0) {
    throw new ApiError(
      'invalid_request_error',
      `${c.req.method} is not allowed on ${c.req.path}. Use ${allowed.join(' or ')}.`,
      405,
      { allow: allowed.join(', ') },
    );
  }
  throw new ApiError(
    'not_found_error',
    `No endpoint at ${c.req.method} ${c.req.path}. GET /docs lists every route (docs/API.md in the repository).`,
  );
});
app.onError(renderError);

let served: Array<{ pattern: RegExp; method: string }> | undefined;

/** The methods the routers above serve at a path, read from the routers themselves. */
function methodsServedAt(path: string): string[] {
  served ??= app.routes
    .filter((route) => route.method !== 'ALL')
    .map((route) => ({ pattern: routePattern(route.path), method: route.method }));
  return [...new Set(served.filter((r) => r.pattern.test(path)).map((r) => r.method))];
}

/** A Hono route path (`/v1/conversations/:id`) as a regular expression over request paths. */
function routePattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}
