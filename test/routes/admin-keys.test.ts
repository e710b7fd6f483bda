import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, call, chat, createKey, expectError } from '../helpers/api';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('admin keys', () => {
  it('mints a random sk_ key shown once, with a webhook secret, and stores only its hash', async () => {
    const created = await createKey({ name: 'mobile backend', limits: { requests_per_minute: 5 } });
    expect(created.key).toMatch(/^sk_[A-Za-z0-9]{32}$/);
    expect(created.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created).toMatchObject({
      name: 'mobile backend',
      kind: 'secret',
      limits: { requests_per_minute: 5 },
    });

    const { keys } = await env.KEYS.list();
    const values = await Promise.all(keys.map((k) => env.KEYS.get(k.name)));
    const stored = keys.map((k) => k.name).join('\n') + values.join('\n');
    expect(stored).not.toContain(created.key);
    expect(stored).toContain(created.id);
  });

  it('mints publishable pk_ keys only with allowed_origins, and checks their form', async () => {
    const pk = await createKey({
      kind: 'publishable',
      allowed_origins: ['https://app.example.com'],
    });
    expect((pk as any).key).toMatch(/^pk_/);
    expect(pk.webhook_secret).toBeUndefined();
    const noOrigins = await call('/admin/keys', {
      method: 'POST',
      headers: admin,
      json: { name: 'web', kind: 'publishable' },
    });
    expect((await expectError(noOrigins, 400, 'invalid_request_error')).message).toMatch(
      /allowed_origins/,
    );
    const badOrigin = await call('/admin/keys', {
      method: 'POST',
      headers: admin,
      json: { name: 'web', kind: 'publishable', allowed_origins: ['https://app.example.com/path'] },
    });
    expect((await expectError(badOrigin, 400, 'invalid_request_error')).message).toMatch(
      /scheme:\/\/host/,
    );
  });

  it('refuses bad key bodies with a message naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ kind: 'secret' }, /name/],
      [{ name: 'x', kind: 'admin' }, /kind/],
      [
        { name: 'x', kind: 'secret', limits: { requests_per_minute: -1 } },
        /limits\.requests_per_minute/,
      ],
      [{ name: 'x', kind: 'secret', limits: { per_hour: 3 } }, /per_hour/],
      [
        { name: 'x', kind: 'secret', limits: { per_user: { requests_per_minute: 0 } } },
        /limits\.per_user\.requests_per_minute/,
      ],
      [
        { name: 'x', kind: 'secret', limits: { per_user: { tokens_per_day: 1.5 } } },
        /limits\.per_user\.tokens_per_day/,
      ],
      [{ name: 'x', kind: 'secret', limits: { per_user: { per_hour: 3 } } }, /per_hour/],
      [{ name: 'x', kind: 'secret', limits: { per_user: 5 } }, /limits\.per_user/],
    ];
    for (const [json, pattern] of cases) {
      const res = await call('/admin/keys', { method: 'POST', headers: admin, json });
      expect((await expectError(res, 400, 'invalid_request_error')).message).toMatch(pattern);
    }
  });

  it('keeps limits.per_user as sent, and lists it with the key', async () => {
    const per_user = { requests_per_minute: 5, concurrent_streams: 1, tokens_per_day: 20_000 };
    const created = await createKey({ limits: { tokens_per_day: 500_000, per_user } });
    expect((created as any).limits).toEqual({ tokens_per_day: 500_000, per_user });
    const list = (await (await call('/admin/keys', { headers: admin })).json()) as any;
    const listed = list.data.find((k: any) => k.id === created.id);
    expect(listed.limits).toEqual({ tokens_per_day: 500_000, per_user });
    // Only what is set: the per-user limits have no defaults.
    const partial = await createKey({ limits: { per_user: { concurrent_streams: 2 } } });
    expect((partial as any).limits).toEqual({ per_user: { concurrent_streams: 2 } });
  });

  it('lists keys without secrets and revokes one so it no longer authenticates', async () => {
    const created = await createKey({ name: 'to revoke' });
    const list = await call('/admin/keys', { headers: admin });
    expect(list.status).toBe(200);
    const text = await list.clone().text();
    expect(text).not.toContain(created.key);
    expect(text).not.toContain(created.webhook_secret!);
    const listed = ((await list.json()) as any).data.find((k: any) => k.id === created.id);
    expect(listed).toMatchObject({
      name: 'to revoke',
      kind: 'secret',
      prefix: created.key.slice(0, 10),
    });
    // Used first, so a remembered key record has to be forgotten on revocation too.
    expect(
      (await call('/v1/usage', { headers: { authorization: `Bearer ${created.key}` } })).status,
    ).toBe(200);

    expect(
      (await call(`/admin/keys/${created.id}`, { method: 'DELETE', headers: admin })).status,
    ).toBe(204);
    await expectError(await chat(created.key, { message: 'hi' }), 401, 'authentication_error');
    await expectError(
      await call(`/admin/keys/${created.id}`, { method: 'DELETE', headers: admin }),
      404,
      'not_found_error',
    );
  });

  it('accepts only ADMIN_TOKEN on /admin routes', async () => {
    const client = await createKey();
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong-token' },
      { authorization: `Bearer ${client.key}` },
    ];
    for (const headers of attempts) {
      await expectError(await call('/admin/keys', { headers }), 401, 'authentication_error');
    }
  });
});
