import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, auth, call, chat, createKey, expectError, okJson } from '../helpers/api';
import { messagesCallsSince, upstream } from '../helpers/upstream';

const ORIGIN = 'https://shop-es.example';
const page = (token: string, origin = ORIGIN) => ({ ...auth(token), origin });

async function mint(key: string, body: Record<string, unknown>) {
  return call('/v1/embed/sessions', { method: 'POST', headers: auth(key), json: body });
}

async function tokenFor(key: string, body: Record<string, unknown> = {}) {
  const res = await mint(key, { origin: ORIGIN, ...body });
  const json = (await res.json()) as any;
  if (res.status !== 201) throw new Error(`${res.status} ${JSON.stringify(json)}`);
  return json.token as string;
}

describe('POST /v1/embed/sessions', () => {
  it('mints an es_ token for one origin, for 15 minutes by default and at most an hour', async () => {
    const { key } = await createKey();
    const before = Date.now();
    const res = await mint(key, { origin: ORIGIN, user: 'u_42' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as any;
    expect(body.token).toMatch(/^es_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(body).toMatchObject({ origin: ORIGIN, user: 'u_42' });
    const life = Date.parse(body.expires_at) - before;
    expect(life).toBeGreaterThan(899_000 - 1000);
    expect(life).toBeLessThanOrEqual(900_000);
    const hour = (await (await mint(key, { origin: ORIGIN, ttl_seconds: 3600 })).json()) as any;
    expect(Date.parse(hour.expires_at) - before).toBeLessThanOrEqual(3_600_000);
  });

  it('refuses a bad origin, ttl, user or limits wider than the key, naming the field', async () => {
    const { key } = await createKey({ limits: { requests_per_minute: 30 } });
    for (const [body, field] of [
      [{ origin: 'https://shop-es.example/' }, 'origin'],
      [{ origin: 'ftp://shop-es.example' }, 'origin'],
      [{}, 'origin'],
      [{ origin: ORIGIN, ttl_seconds: 3601 }, 'ttl_seconds'],
      [{ origin: ORIGIN, ttl_seconds: 0 }, 'ttl_seconds'],
      [{ origin: ORIGIN, user: 'someone@example.com' }, 'user'],
      [{ origin: ORIGIN, limits: { requests_per_minute: 31 } }, 'requests_per_minute'],
      [{ origin: ORIGIN, scope: 'all' }, 'scope'],
    ] as const) {
      const error = await expectError(await mint(key, body), 400, 'invalid_request_error');
      expect(error.message).toContain(field);
    }
  });

  it('is for secret keys only: a publishable key or a token is refused with 403', async () => {
    const pk = await createKey({ kind: 'publishable', allowed_origins: [ORIGIN] });
    const refused = await call('/v1/embed/sessions', {
      method: 'POST',
      headers: { ...auth(pk.key), origin: ORIGIN },
      json: { origin: ORIGIN },
    });
    await expectError(refused, 403, 'permission_error');
    const { key } = await createKey();
    const token = await tokenFor(key);
    await expectError(
      await call('/v1/embed/sessions', {
        method: 'POST',
        headers: page(token),
        json: { origin: ORIGIN },
      }),
      403,
      'permission_error',
    );
  });
});

describe('es_ tokens', () => {
  it('are accepted from their origin only, and the page may read the answer', async () => {
    const { key } = await createKey();
    const token = await tokenFor(key);
    const ok = await chat(token, { message: 'hi' }, { origin: ORIGIN });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    await expectError(
      await chat(token, { message: 'hi' }, { origin: 'https://other.example' }),
      403,
      'permission_error',
    );
    await expectError(await chat(token, { message: 'hi' }), 403, 'permission_error');
  });

  it("get their origin's preflight answered while they live", async () => {
    const origin = 'https://preflight-es.example';
    const preflight = () =>
      call('/v1/chat', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    await expectError(await preflight(), 403, 'permission_error');
    const { key } = await createKey();
    await tokenFor(key, { origin });
    const ok = await preflight();
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(origin);
  });

  it('are refused once expired, altered, signed elsewhere or revoked with their key (401), and the page can read why', async () => {
    const minted = await createKey();
    const short = await tokenFor(minted.key, { ttl_seconds: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    const expired = await chat(short, { message: 'hi' }, { origin: ORIGIN });
    expect(expired.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect((await expectError(expired, 401, 'authentication_error')).message).toMatch(/expired/);

    const token = await tokenFor(minted.key);
    const [claims, mac] = token.slice(3).split('.');
    const forged = JSON.parse(atob(claims!.replace(/-/g, '+').replace(/_/g, '/')));
    forged.exp += 86_400;
    const altered = `es_${btoa(JSON.stringify(forged)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}.${mac}`;
    await expectError(
      await chat(altered, { message: 'hi' }, { origin: ORIGIN }),
      401,
      'authentication_error',
    );
    const otherSecret = `es_${claims}.${'A'.repeat(43)}`;
    await expectError(
      await chat(otherSecret, { message: 'hi' }, { origin: ORIGIN }),
      401,
      'authentication_error',
    );

    expect((await chat(token, { message: 'hi' }, { origin: ORIGIN })).status).toBe(200);
    const revoked = await call(`/admin/keys/${minted.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(revoked.status).toBe(204);
    const after = await expectError(
      await chat(token, { message: 'hi' }, { origin: ORIGIN }),
      401,
      'authentication_error',
    );
    expect(after.message).toMatch(/revoked/);
  });

  it('never run jobs or reach the admin API', async () => {
    const { key } = await createKey();
    const token = await tokenFor(key);
    await expectError(
      await call('/v1/jobs', { method: 'POST', headers: page(token), json: { message: 'hi' } }),
      403,
      'permission_error',
    );
    await expectError(
      await call('/admin/keys', { headers: page(token) }),
      401,
      'authentication_error',
    );
  });

  it("bound to an end user, reach only that user's conversations, and speak for that user", async () => {
    const { key } = await createKey();
    const alice = await tokenFor(key, { user: 'u_alice' });
    const bob = await tokenFor(key, { user: 'u_bob' });
    const before = upstream.requests.length;
    const first = await okJson(await chat(alice, { message: 'hi' }, { origin: ORIGIN }));
    expect(messagesCallsSince(before)[0]!.body.metadata).toEqual({ user_id: 'u_alice' });
    const id = first.conversation_id as string;

    for (const res of [
      await call(`/v1/conversations/${id}`, { headers: page(bob) }),
      await call(`/v1/conversations/${id}/events`, { headers: page(bob) }),
      await call(`/v1/conversations/${id}/cancel`, { method: 'POST', headers: page(bob) }),
      await chat(bob, { conversation_id: id, message: 'mine now' }, { origin: ORIGIN }),
      await call(`/v1/conversations/${id}`, { method: 'DELETE', headers: page(bob) }),
    ]) {
      await expectError(res, 404, 'not_found_error');
    }
    // Alice's next token (a page reload) continues her conversation.
    const again = await tokenFor(key, { user: 'u_alice' });
    const next = await okJson(
      await chat(again, { conversation_id: id, message: 'more' }, { origin: ORIGIN }),
    );
    expect(next.turn).toBe(2);
    expect((await call(`/v1/conversations/${id}`, { headers: page(again) })).status).toBe(200);

    await expectError(
      await chat(alice, { message: 'hi', user: 'u_bob' }, { origin: ORIGIN }),
      403,
      'permission_error',
    );
  });

  it("keep an end user's Idempotency-Keys apart from another's", async () => {
    const { key } = await createKey();
    const alice = await tokenFor(key, { user: 'u_alice' });
    const bob = await tokenFor(key, { user: 'u_bob' });
    const headers = { origin: ORIGIN, 'idempotency-key': 'same-key-1' };
    const a = await okJson(await chat(alice, { message: 'hi' }, headers));
    const b = await chat(bob, { message: 'hi' }, headers);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(((await b.json()) as any).conversation_id).not.toBe(a.conversation_id);
  });

  it('have limits of their own, no wider than asked, with the RateLimit fields naming them', async () => {
    const { key } = await createKey();
    const token = await tokenFor(key, { limits: { requests_per_minute: 2 } });
    const usage = () => call('/v1/usage', { headers: page(token) });
    expect((await usage()).status).toBe(200);
    const second = await usage();
    expect(second.status).toBe(200);
    expect(second.headers.get('ratelimit-policy')).toContain('"user-minute";q=2;w=60');
    expect(second.headers.get('ratelimit-policy')).toContain('"ip-minute"');
    const third = await usage();
    const error = await expectError(third, 429, 'rate_limit_error');
    expect(error.message).toContain('user_requests_per_minute');
    expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
    // Another token of the same key is not held by this one's window.
    const other = await tokenFor(key);
    expect((await call('/v1/usage', { headers: page(other) })).status).toBe(200);
  });
});
