/** `/admin/keys`: mint, list and revoke client keys (API.md §3, Admin). */
import { Hono } from 'hono';
import { newKeyRequest } from '../contract/admin-request';
import { parseJson, parseWith } from '../contract/validate';
import type { AppEnv } from '../env';
import { ApiError, invalid } from '../errors';
import { createKey, deleteKey, listKeys, publicKey } from '../store/keys';

export const admin = new Hono<AppEnv>();

admin.post('/keys', async (c) => {
  const body = parseWith(newKeyRequest, parseJson(await c.req.text()));
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
