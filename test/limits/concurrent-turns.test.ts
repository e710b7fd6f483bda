import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { auth, call, chat, createKey, expectError, openStreams } from '../helpers/api';
import { readEventStream } from '../helpers/sse';
import { until } from '../helpers/time';

describe('concurrent turns, per key', () => {
  it('accepts exactly N of N+3 simultaneous streams, and the slots come back when they end', async () => {
    const { key } = await createKey({
      limits: { concurrent_streams: 2, requests_per_minute: 100 },
    });
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        chat(key, { message: `slow ${i} [sim:think_ms=3000]`, stream: true }),
      ),
    );
    const accepted = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 429);
    expect(accepted).toHaveLength(2);
    expect(refused).toHaveLength(3);
    for (const r of refused) {
      expect(r.headers.get('content-type')).toMatch(/application\/json/);
      expect((await expectError(r, 429, 'rate_limit_error')).message).toMatch(/concurrent_streams/);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(await openStreams(key)).toBe(2);
    for (const r of accepted) expect((await readEventStream(r)).events.at(-1)!.event).toBe('done');
    expect(await openStreams(key)).toBe(0);
    const again = await Promise.all([1, 2].map((i) => chat(key, { message: `again ${i}` })));
    expect(again.map((r) => r.status)).toEqual([200, 200]);
  });

  it('frees the slot of a stream whose client went away once the turn ends upstream, and still stores it', async () => {
    const { id: keyId, key } = await createKey({
      limits: { concurrent_streams: 1, requests_per_minute: 10_000 },
    });
    const res = await chat(key, { message: 'leaving [sim:think_ms=2000]', stream: true });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const conversationId = /"conversation_id":"(c_[A-Za-z0-9]+)"/.exec(first)![1]!;
    await reader.cancel();
    expect(await openStreams(key)).toBe(1);
    await expectError(await chat(key, { message: 'blocked' }), 429, 'rate_limit_error');
    await until(async () => (await openStreams(key)) === 0);
    const t = (await (
      await call(`/v1/conversations/${conversationId}`, { headers: auth(key) })
    ).json()) as any;
    expect(t.turns).toBe(1);
    // The limiter's own table agrees: no turn left in flight.
    const stub = env.LIMITER.get(env.LIMITER.idFromName(keyId));
    await runInDurableObject(stub, (_instance, state) => {
      expect(state.storage.sql.exec('SELECT COUNT(*) AS n FROM turns').one().n).toBe(0);
    });
  });

  it('frees the slot when a turn fails upstream', async () => {
    const { key } = await createKey({ limits: { concurrent_streams: 1 } });
    const failed = await chat(key, { message: 'x [sim:fail=midstream_error]', stream: true });
    expect((await readEventStream(failed)).events.at(-1)!.event).toBe('error');
    await expectError(
      await chat(key, { message: 'y [sim:fail=rate_limit]' }),
      429,
      'rate_limit_error',
    );
    expect(await openStreams(key)).toBe(0);
    expect((await chat(key, { message: 'z' })).status).toBe(200);
  });
});
