import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { auth, call, chat, createKey, expectError } from '../helpers/api';
import { readEventStream } from '../helpers/sse';

const usage = async (key: string) =>
  (await (await call('/v1/usage', { headers: auth(key) })).json()) as any;

describe('tokens per day, per key', () => {
  it('charges the streamed usage of each turn and refuses once the budget is spent', async () => {
    const { id: keyId, key } = await createKey({ limits: { tokens_per_day: 150 } });
    const { events } = await readEventStream(
      await chat(key, { message: 'spend it', stream: true }),
    );
    const done = events.at(-1)!;
    expect(done.event).toBe('done');
    const spent = done.data.usage.input_tokens + done.data.usage.output_tokens;
    expect(spent).toBeGreaterThan(150);
    expect((await usage(key)).used.tokens_today).toBe(spent);

    const refused = await chat(key, { message: 'more' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    const untilMidnight = (86_400_000 - (Date.now() % 86_400_000)) / 1000;
    expect(Math.abs(retryAfter - untilMidnight)).toBeLessThan(5);
    expect((await expectError(refused, 429, 'rate_limit_error')).message).toMatch(/tokens_per_day/);

    const stub = env.LIMITER.get(env.LIMITER.idFromName(keyId));
    await runInDurableObject(stub, (_instance, state) => {
      const row = state.storage.sql
        .exec<{ day: number; tokens: number }>('SELECT day, tokens FROM token_days')
        .one();
      expect(row.tokens).toBe(spent);
      expect(row.day).toBe(Date.now() - (Date.now() % 86_400_000));
    });
  });

  it('charges a turn that fails mid-stream for what it used', async () => {
    const { key } = await createKey();
    const { events } = await readEventStream(
      await chat(key, { message: 'partial [sim:fail=midstream_error]', stream: true }),
    );
    expect(events.at(-1)!.event).toBe('error');
    expect((await usage(key)).used.tokens_today).toBeGreaterThan(0);
  });

  it('reports limits, use and resets on GET /v1/usage', async () => {
    const { id, key } = await createKey({ limits: { requests_per_minute: 30 } });
    await chat(key, { message: 'count me' });
    const u = await usage(key);
    expect(u.key_id).toBe(id);
    expect(u.limits).toEqual({
      requests_per_minute: 30,
      concurrent_streams: 4,
      tokens_per_day: 1_000_000,
    });
    expect(u.used.requests_this_minute).toBe(2);
    expect(u.used.open_streams).toBe(0);
    expect(u.used.tokens_today).toBeGreaterThan(0);
    expect(u.resets.minute).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/);
    expect(u.resets.day).toMatch(/T00:00:00\.000Z$/);
    expect(Date.parse(u.resets.minute) - Date.now()).toBeLessThanOrEqual(60_000);
  });
});
