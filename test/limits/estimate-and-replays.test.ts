import { describe, expect, it } from 'vitest';
import { call, chat, createKey, expectError, okJson } from '../helpers/api';
import { parseSse } from '../helpers/sse';
import { messagesCallsSince, upstream } from '../helpers/upstream';
import { awayFromMinuteBoundary } from '../helpers/time';

describe('the day budget, idempotent replays and deletes', () => {
  it('refuses a turn whose estimated input cannot fit the day, before calling Claude', async () => {
    const { key } = await createKey({ limits: { tokens_per_day: 10_000 } });
    const before = upstream.requests.length;
    const refused = await chat(key, { message: 'word '.repeat(100_000) });
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    const error = await expectError(refused, 429, 'rate_limit_error');
    expect(error.message).toMatch(/tokens_per_day/);
    expect(error.message).toMatch(/estimated at about \d+ tokens/);
    expect(messagesCallsSince(before)).toHaveLength(0);
    // A turn that fits still goes through, and the refused one cost nothing.
    await okJson(await chat(key, { message: 'hi' }));
    const usage = (await (
      await call('/v1/usage', { headers: { authorization: `Bearer ${key}` } })
    ).json()) as any;
    expect(usage.used.tokens_today).toBeLessThan(10_000);
  });

  it('counts a replayed answer against the request rate and puts the RateLimit fields on it', async () => {
    await awayFromMinuteBoundary();
    const { key } = await createKey({ limits: { requests_per_minute: 3 } });
    const headers = { 'idempotency-key': 'replay-counts-1' };
    const first = await chat(key, { message: 'hi' }, headers);
    expect(first.status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const replay = await chat(key, { message: 'hi' }, headers);
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.headers.get('ratelimit')).toContain(`"minute";r=${1 - i};`);
    }
    await expectError(await chat(key, { message: 'hi' }, headers), 429, 'rate_limit_error');
  });

  it('lets a delete win over a running turn: the turn is stopped and nothing is written back', async () => {
    const { key } = await createKey();
    const first = await okJson(await chat(key, { message: 'start' }));
    const id = first.conversation_id;
    const running = await chat(key, {
      conversation_id: id,
      message: 'slow [sim:think_ms=1500] [sim:words=5]',
      stream: true,
    });
    expect(running.status).toBe(200);
    const deleted = await call(`/v1/conversations/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(deleted.status).toBe(204);
    const events = parseSse(await running.text());
    expect(events.at(-1)?.event).toBe('error');
    expect(events.some((e) => e.event === 'done')).toBe(false);
    await new Promise((r) => setTimeout(r, 2000));
    const after = await call(`/v1/conversations/${id}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    await expectError(after, 404, 'not_found_error');
    await expectError(
      await chat(key, { conversation_id: id, message: 'more' }),
      404,
      'not_found_error',
    );
  });
});
