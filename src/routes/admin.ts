/** `/admin/keys`: mint, list and revoke client keys (API.md §3, Admin). */
import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { ApiError, invalid } from '../errors';
import { createKey, deleteKey, listKeys, publicKey } from '../store/keys';
import { parseWith, readJson } from '../validation';
import * as z from '../zod';

const limit = z.int().check(z.positive(), z.maximum(1_000_000_000_000));
const origin = z.string().check(
  z.refine(isOrigin, {
    message:
      'each allowed origin must be scheme://host[:port], e.g. "https://app.example.com" (no path, no trailing slash)',
  }),
);

export const newKeyRequest = z.strictObject({
  name: z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(200)),
  kind: z.enum(['secret', 'publishable'], 'kind must be "secret" or "publishable"'),
  allowed_origins: z.optional(z.array(origin).check(z.maxLength(100))),
  limits: z.optional(
    z.strictObject({
      requests_per_minute: z.optional(limit),
      concurrent_streams: z.optional(limit),
      tokens_per_day: z.optional(limit),
    }),
  ),
  prompt_cache_ttl: z.optional(
    z.enum(['5m', '1h', 'off'], 'prompt_cache_ttl must be "5m", "1h" or "off"'),
  ),
  latency: z.optional(
    z.strictObject({
      speed: z.optional(z.enum(['standard', 'fast'])),
      service_tier: z.optional(z.enum(['auto', 'standard_only'])),
      client_may_choose: z.optional(z.boolean()),
    }),
  ),
});

export const admin = new Hono<AppEnv>();

admin.post('/keys', async (c) => {
  const body = parseWith(newKeyRequest, await readJson(c));
  if (body.kind === 'publishable' && !body.allowed_origins?.length) {
    throw invalid(
      'allowed_origins: a publishable key is only accepted from the web origins listed here; give at least one.',
    );
  }
  const { record, key } = await createKey(c.env.KEYS, body);
  // The only time the key itself is shown.
  return c.json({ ...record, key }, 201);
});

admin.get('/keys', async (c) => {
  const keys = await listKeys(c.env.KEYS);
  return c.json({ data: keys.map(publicKey) });
});

admin.delete('/keys/:id', async (c) => {
  const id = c.req.param('id');
  const deleted = /^key_[A-Za-z0-9]{1,64}$/.test(id) && (await deleteKey(c.env.KEYS, id));
  if (!deleted) throw new ApiError('not_found_error', `No key with id "${id.slice(0, 80)}".`);
  return c.body(null, 204);
});

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}
