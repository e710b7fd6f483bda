import { describe, expect, it } from 'vitest';
import { chat, createKey, expectError } from '../helpers/api';
import { readEventStream } from '../helpers/sse';
import { messagesCallsSince, upstream } from '../helpers/upstream';
import { until } from '../helpers/time';

const idem = (key: string) => ({ 'idempotency-key': key });

describe('Idempotency-Key on POST /v1/chat', () => {
  it('replays the first status and body for the same key and body, without calling Claude again', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const body = { message: 'charge the card once' };
    const first = await chat(key, body, idem('order-1'));
    const firstText = await first.text();
    const second = await chat(key, body, idem('order-1'));
    expect(second.status).toBe(200);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await second.text()).toBe(firstText);
    expect(messagesCallsSince(before)).toHaveLength(1);
  });

  it('replays a streamed turn as a complete event stream', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const body = { message: 'stream it', stream: true };
    const first = await readEventStream(await chat(key, body, idem('s-1')));
    const text = (events: any[]) =>
      events
        .filter((e) => e.event === 'text')
        .map((e) => e.data.text)
        .join('');
    let replayed: Awaited<ReturnType<typeof readEventStream>> | undefined;
    await until(async () => {
      const res = await chat(key, body, idem('s-1'));
      if (res.status !== 200) return false;
      replayed = await readEventStream(res);
      return true;
    });
    expect(replayed!.events.map((e) => e.event)).toEqual([
      'conversation',
      'status',
      'text',
      'done',
    ]);
    expect(text(replayed!.events)).toBe(text(first.events));
    expect(replayed!.events[0]!.data).toEqual(first.events[0]!.data);
    // The replay's ids are the turn's, as in the first stream: <turn>:<seq> from 0.
    expect(replayed!.events.map((e) => e.id)).toEqual(replayed!.events.map((_, seq) => `1:${seq}`));
    expect(replayed!.events.at(-1)!.data).toEqual(first.events.at(-1)!.data);
    expect(messagesCallsSince(before)).toHaveLength(1);
  });

  it('answers 409 while the first request is still running, and 422 for another body', async () => {
    const { key } = await createKey();
    const slow = chat(key, { message: 'slow [sim:think_ms=3000]' }, idem('k-1'));
    await new Promise((r) => setTimeout(r, 200));
    await expectError(
      await chat(key, { message: 'slow [sim:think_ms=3000]' }, idem('k-1')),
      409,
      'conflict_error',
    );
    expect((await slow).status).toBe(200);
    const other = await chat(key, { message: 'something else' }, idem('k-1'));
    expect((await expectError(other, 422, 'invalid_request_error')).message).toMatch(
      /different request body/,
    );
  });

  it('is scoped to the calling key', async () => {
    const a = await createKey();
    const b = await createKey();
    const before = upstream.requests.length;
    await chat(a.key, { message: 'same' }, idem('shared'));
    const res = await chat(b.key, { message: 'same' }, idem('shared'));
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(messagesCallsSince(before)).toHaveLength(2);
  });

  it('does not store a failure worth retrying, so the same key runs again', async () => {
    const { key } = await createKey();
    const body = { message: 'flaky [sim:fail=rate_limit]' };
    const before = upstream.requests.length;
    await expectError(await chat(key, body, idem('retry-me')), 429, 'rate_limit_error');
    await expectError(await chat(key, body, idem('retry-me')), 429, 'rate_limit_error');
    expect(messagesCallsSince(before)).toHaveLength(2);
  });

  it('replays a final refusal, and refuses a malformed key', async () => {
    const { key } = await createKey();
    const first = await chat(key, { message: '' }, idem('bad-body'));
    const firstBody = await first.clone().text();
    await expectError(first, 400, 'invalid_request_error');
    const again = await chat(key, { message: '' }, idem('bad-body'));
    expect(again.status).toBe(400);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // The first answer, byte for byte (its request_id included).
    expect(await again.text()).toBe(firstBody);
    await expectError(
      await chat(key, { message: 'x' }, idem('has spaces')),
      400,
      'invalid_request_error',
    );
  });
});
