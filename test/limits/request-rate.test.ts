import { describe, expect, it } from 'vitest';
import { auth, call, chat, createKey, expectError } from '../helpers/api';
import { awayFromMinuteBoundary } from '../helpers/time';

describe('requests per minute, per key', () => {
  it('accepts exactly the limit from a burst of twice the limit, refusing the rest with 429 and the IETF fields', async () => {
    await awayFromMinuteBoundary();
    const { key } = await createKey({ limits: { requests_per_minute: 5, concurrent_streams: 20 } });
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => chat(key, { message: `burst ${i}` })),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
    for (const refused of answers.filter((r) => r.status === 429)) {
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
      expect(refused.headers.get('ratelimit-policy')).toBe(
        '"minute";q=5;w=60, "day";q=1000000;w=86400',
      );
      expect(refused.headers.get('ratelimit')).toMatch(/^"minute";r=0;t=\d+, "day";r=\d+;t=\d+$/);
      expect((await expectError(refused, 429, 'rate_limit_error')).message).toMatch(
        /requests_per_minute/,
      );
    }
  });

  it('puts the remaining quota on every 2xx', async () => {
    await awayFromMinuteBoundary();
    const { key } = await createKey({ limits: { requests_per_minute: 7 } });
    const first = await chat(key, { message: 'one' });
    expect(first.headers.get('ratelimit-policy')).toBe(
      '"minute";q=7;w=60, "day";q=1000000;w=86400',
    );
    expect(first.headers.get('ratelimit')).toMatch(/^"minute";r=6;t=\d+, "day";r=1000000;t=\d+$/);
    const { conversation_id } = (await first.json()) as any;
    const transcript = await call(`/v1/conversations/${conversation_id}`, { headers: auth(key) });
    expect(transcript.status).toBe(200);
    // The first turn's tokens are charged by now; the transcript read is the second request.
    expect(transcript.headers.get('ratelimit')).toMatch(
      /^"minute";r=5;t=\d+, "day";r=\d{6};t=\d+$/,
    );
  });

  it('does not count requests refused for bad input', async () => {
    await awayFromMinuteBoundary();
    const { key } = await createKey({ limits: { requests_per_minute: 2 } });
    for (let i = 0; i < 3; i++)
      await expectError(await chat(key, { message: '' }), 400, 'invalid_request_error');
    expect((await chat(key, { message: 'a' })).status).toBe(200);
    expect((await chat(key, { message: 'b' })).status).toBe(200);
    await expectError(await chat(key, { message: 'c' }), 429, 'rate_limit_error');
  });

  it('leaves other keys unaffected', async () => {
    await awayFromMinuteBoundary();
    const spent = await createKey({ limits: { requests_per_minute: 1 } });
    const other = await createKey({ limits: { requests_per_minute: 1 } });
    expect((await chat(spent.key, { message: 'a' })).status).toBe(200);
    await expectError(await chat(spent.key, { message: 'b' }), 429, 'rate_limit_error');
    expect((await chat(other.key, { message: 'a' })).status).toBe(200);
  });

  it('limits a publishable key per client IP as well, with the lower publishable default', async () => {
    await awayFromMinuteBoundary();
    const { key } = await createKey({
      kind: 'publishable',
      allowed_origins: ['https://shop.example'],
      limits: { requests_per_minute: 100 },
    });
    const from = (ip: string) =>
      call('/v1/usage', {
        headers: { ...auth(key), origin: 'https://shop.example', 'cf-connecting-ip': ip },
      });
    for (let i = 0; i < 10; i++) expect((await from('203.0.113.7')).status).toBe(200);
    const refused = await from('203.0.113.7');
    expect(refused.headers.get('ratelimit')).toMatch(/"ip-minute";r=0;t=\d+/);
    expect(refused.headers.get('ratelimit-policy')).toContain('"ip-minute";q=10;w=60');
    expect((await expectError(refused, 429, 'rate_limit_error')).message).toMatch(/client IP/);
    expect((await from('198.51.100.2')).status).toBe(200);
  });
});
