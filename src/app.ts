/**
 * The Hono app: cross-cutting middleware, then one sub-app per resource. Errors from
 * anywhere are rendered by `renderError` in the contract's shape.
 */
import { Hono } from 'hono';
import type { AppEnv } from './env';
import { ApiError, renderError } from './errors';
import { requireAdmin, requireApiKey } from './middleware/auth';
import { limitBody } from './middleware/body-limit';
import { cors } from './middleware/cors';
import { idempotency } from './middleware/idempotency';
import { requestContext } from './middleware/request-context';
import { admin } from './routes/admin';
import { chat } from './routes/chat';
import { conversations } from './routes/conversations';
import { docs } from './routes/docs';
import { usage } from './routes/usage';
import { floodFilter } from './limits/flood';

/** Routes and their methods, for 405 answers (Hono itself only knows "no match"). */
const ROUTES: Array<[RegExp, string[]]> = [
  [/^\/health$/, ['GET']],
  [/^\/openapi\.json$/, ['GET']],
  [/^\/docs$/, ['GET']],
  [/^\/v1\/chat$/, ['POST']],
  [/^\/v1\/usage$/, ['GET']],
  [/^\/v1\/conversations\/[^/]+$/, ['GET', 'DELETE']],
  [/^\/admin\/keys$/, ['GET', 'POST']],
  [/^\/admin\/keys\/[^/]+$/, ['DELETE']],
];

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

app.get('/health', (c) => c.json({ status: 'ok' }));
app.route('/', docs);
app.use('/v1/chat', idempotency());
app.route('/v1/chat', chat);
app.route('/v1/conversations', conversations);
app.route('/v1/usage', usage);
app.route('/admin', admin);

app.notFound((c) => {
  const route = ROUTES.find(([pattern]) => pattern.test(c.req.path));
  if (route) {
    throw new ApiError(
      'invalid_request_error',
      `${c.req.method} is not allowed on ${c.req.path}. Use ${route[1].join(' or ')}.`,
      405,
      { allow: route[1].join(', ') },
    );
  }
  throw new ApiError(
    'not_found_error',
    `No endpoint at ${c.req.method} ${c.req.path}. GET /docs lists every route (docs/API.md in the repository).`,
  );
});
app.onError(renderError);
