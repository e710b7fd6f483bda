/** `GET /v1/usage`: the key's limits, what it has used, and when each window resets. */
import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { countRequest } from '../middleware/rate-limit';

export const usage = new Hono<AppEnv>();

// The usage call is a request like any other: it counts, and reports the state after counting.
usage.use(countRequest());

usage.get('/', (c) => {
  const { limits, used, resets } = c.get('limitSnapshot');
  return c.json({
    key_id: c.get('apiKey').id,
    limits,
    used,
    resets: {
      minute: new Date(resets.minute).toISOString(),
      day: new Date(resets.day).toISOString(),
    },
  });
});
