/** `/admin/keys`: mint, list and revoke client keys (API.md §3, Admin). */
import { Hono } from 'hono';
import { newKeyRequest, rotateSecretRequest } from '../contract/admin-request';
import { parseJson, parseWith } from '../contract/validate';
import type { AppEnv } from '../env';
import { ApiError, invalid } from '../errors';
import { createKey, deleteKey, listKeys, publicKey, rotateWebhookSecret } from '../store/keys';

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

/**
 * A new webhook secret for a secret key. The old one goes on signing beside it (two
 * signatures per callback) for `grace_seconds` (default a day), so receivers can switch.
 */
admin.post('/keys/:id/webhook-secret', async (c) => {
  const id = c.req.param('id');
  const text = await c.req.text();
  const body = parseWith(rotateSecretRequest, text.trim() === '' ? {} : parseJson(text));
  const rotated = /^key_[A-Za-z0-9]{1,64}$/.test(id)
    ? await rotateWebhookSecret(c.env.KEYS, id, body.grace_seconds ?? 86_400)
    : null;
  if (!rotated) {
    throw new ApiError('not_found_error', `No secret key with id "${id.slice(0, 80)}".`);
  }
  return c.json({
    id: rotated.id,
    webhook_secret: rotated.webhook_secret,
    previous_webhook_secret_expires_at: rotated.previous_webhook_secret?.until ?? null,
  });
});
