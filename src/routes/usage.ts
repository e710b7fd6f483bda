/**
 * `GET /v1/usage`: the key's limits, what it has used, and when each window resets; with
 * `?user=<id>`, the same for one end user of the key under its `limits.per_user`.
 */
import { Hono } from 'hono';
import { parseEndUser } from '../contract/end-user';
import type { AppEnv } from '../env';
import { countReporting, countThisRequest } from '../middleware/rate-limit';

export const usage = new Hono<AppEnv>();

// The usage call is a request like any other: it counts (in the key's window, never the
// end user's it asks about), and reports the state after counting.
usage.get('/', async (c) => {
  const query = c.req.query('user');
  // Checked before counting: a refused request costs nothing.
  const user = query === undefined ? undefined : parseEndUser(query);
  if (user !== undefined) c.get('log').user = user;
  const snapshot = user === undefined ? await countThisRequest(c) : await countReporting(c, user);
  const resets = {
    minute: new Date(snapshot.resets.minute).toISOString(),
    day: new Date(snapshot.resets.day).toISOString(),
  };
  const key_id = c.get('apiKey').id;
  if (snapshot.user) {
    const { id, limits, used } = snapshot.user;
    return c.json({ key_id, user: id, limits, used, resets });
  }
  return c.json({ key_id, limits: snapshot.limits, used: snapshot.used, resets });
});
