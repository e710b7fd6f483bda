import { describe, expect, it } from 'vitest';
import { call, chat, createKey, expectError } from '../helpers/api';
import { messagesCallsSince, upstream } from '../helpers/upstream';

describe('client key auth on /v1/*', () => {
  it('refuses a missing, malformed or unknown key with 401 before calling Claude', async () => {
    const before = upstream.requests.length;
    await expectError(
      await call('/v1/chat', { method: 'POST', json: { message: 'hi' } }),
      401,
      'authentication_error',
    );
    await expectError(await chat('not-a-key', { message: 'hi' }), 401, 'authentication_error');
    await expectError(
      await chat('sk_' + 'A'.repeat(32), { message: 'hi' }),
      401,
      'authentication_error',
    );
    expect(messagesCallsSince(before)).toHaveLength(0);
  });

  it('accepts a publishable key only from its allowed origins, and answers the CORS preflight', async () => {
    const pk = await createKey({ kind: 'publishable', allowed_origins: ['https://shop.example'] });
    const preflight = await call('/v1/chat', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
      'authorization',
    );

    await expectError(await chat(pk.key, { message: 'hi' }), 403, 'permission_error');
    await expectError(
      await chat(pk.key, { message: 'hi' }, { origin: 'https://evil.example' }),
      403,
      'permission_error',
    );
    const ok = await chat(pk.key, { message: 'hi' }, { origin: 'https://shop.example' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example');
  });
});
