import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, call, chat, createKey, expectError } from '../helpers/api';

const preflight = (origin: string | null, path = '/v1/chat') =>
  call(path, {
    method: 'OPTIONS',
    headers: {
      ...(origin !== null ? { origin } : {}),
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, last-event-id',
    },
  });

describe('CORS', () => {
  it("answers a preflight for a publishable key's origin only: exact echo, Vary, explicit methods and headers, bounded Max-Age", async () => {
    await createKey({ kind: 'publishable', allowed_origins: ['https://cors-a.example:8443'] });
    const ok = await preflight('https://cors-a.example:8443');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://cors-a.example:8443');
    expect(ok.headers.get('vary')).toMatch(/Origin/);
    expect(ok.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE, OPTIONS');
    const allowed = ok.headers.get('access-control-allow-headers')!.toLowerCase();
    for (const h of ['authorization', 'content-type', 'idempotency-key', 'last-event-id'])
      expect(allowed).toContain(h);
    expect(Number(ok.headers.get('access-control-max-age'))).toBeGreaterThan(0);
    expect(Number(ok.headers.get('access-control-max-age'))).toBeLessThanOrEqual(600);

    // Same host, other scheme or port; a look-alike; no origin; the opaque "null".
    for (const origin of [
      'http://cors-a.example:8443',
      'https://cors-a.example',
      'https://cors-a.example:8443.evil.example',
      'null',
      null,
    ]) {
      const refused = await preflight(origin);
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
      await expectError(refused, 403, 'permission_error');
    }
  });

  it('stops answering for an origin once the last key that allowed it is revoked', async () => {
    const one = await createKey({
      kind: 'publishable',
      allowed_origins: ['https://cors-b.example'],
    });
    const two = await createKey({
      kind: 'publishable',
      allowed_origins: ['https://cors-b.example'],
    });
    const revoke = (id: string) =>
      call(`/admin/keys/${id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
    expect((await revoke(one.id)).status).toBe(204);
    expect((await preflight('https://cors-b.example')).status).toBe(204);
    expect((await revoke(two.id)).status).toBe(204);
    await expectError(await preflight('https://cors-b.example'), 403, 'permission_error');
  });

  it("lets a page read the answers of a publishable key from its origin, with the limit headers exposed, and never a secret key's", async () => {
    const pk = await createKey({
      kind: 'publishable',
      allowed_origins: ['https://cors-c.example'],
    });
    const res = await chat(pk.key, { message: 'hi' }, { origin: 'https://cors-c.example' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://cors-c.example');
    const exposed = res.headers.get('access-control-expose-headers')!;
    for (const h of ['Retry-After', 'RateLimit', 'RateLimit-Policy', 'request-id'])
      expect(exposed).toContain(h);

    const sk = await createKey();
    const secret = await chat(sk.key, { message: 'hi' }, { origin: 'https://cors-c.example' });
    expect(secret.status).toBe(200);
    expect(secret.headers.get('access-control-allow-origin')).toBeNull();
  });
});
