/** `/admin/keys`: mint, list and revoke client keys (API.md §3, Admin). */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../env';
import { ApiError, invalid } from '../errors';
import { createKey, deleteKey, listKeys, publicKey } from '../store/keys';
import { parseWith, readJson } from '../validation';

const limit = z.int().positive().max(1_000_000_000_000);
const origin = z.string().refine(isOrigin, {
  message:
    'each allowed origin must be scheme://host[:port], e.g. "https://app.example.com" (no path, no trailing slash)',
});

export const newKeyRequest = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(200),
  kind: z.enum(['secret', 'publishable'], 'kind must be "secret" or "publishable"'),
  allowed_origins: z.array(origin).max(100).optional(),
  limits: z
    .strictObject({
      requests_per_minute: limit.optional(),
      concurrent_streams: limit.optional(),
      tokens_per_day: limit.optional(),
    })
    .optional(),
  prompt_cache_ttl: z
    .enum(['5m', '1h', 'off'], 'prompt_cache_ttl must be "5m", "1h" or "off"')
    .optional(),
  latency: z
    .strictObject({
      speed: z.enum(['standard', 'fast']).optional(),
      service_tier: z.enum(['auto', 'standard_only']).optional(),
      client_may_choose: z.boolean().optional(),
    })
    .optional(),
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
