import { describe, expect, it } from 'vitest';
import { auth, call, chat, createKey, expectError, openStreams } from '../helpers/api';
import { readEventStream } from '../helpers/sse';
import { until } from '../helpers/time';
import { messagesCallsSince, upstream } from '../helpers/upstream';

const cancel = (key: string, id: string) =>
  call(`/v1/conversations/${id}/cancel`, { method: 'POST', headers: auth(key) });

/** The conversation id from a stream's first event, read without consuming the rest. */
async function startStream(key: string, body: Record<string, unknown>) {
  const res = await chat(key, { ...body, stream: true });
  expect(res.status).toBe(200);
  const [mine, rest] = res.body!.tee();
  const reader = mine.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  reader.releaseLock();
  void mine.cancel();
  const id = /"conversation_id":"(c_[A-Za-z0-9]+)"/.exec(first)![1]!;
  return { id, stream: new Response(rest, { headers: res.headers }) };
}

describe('POST /v1/conversations/:id/cancel', () => {
  it('stops a turn while Claude thinks: the stream ends with cancelled, the slot is freed, nothing is stored, and the next turn is taken', async () => {
    const { key } = await createKey({ limits: { requests_per_minute: 1000 } });
    const first = (await (await chat(key, { message: 'start' })).json()) as any;
    const { id, stream } = await startStream(key, {
      conversation_id: first.conversation_id,
      message: 'think long [sim:think_ms=5000]',
    });
    const calls = upstream.requests.length;
    const res = await cancel(key, id);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ cancelled: true, turn: 2 });
    // The simulator saw its stream stopped by the client, before its end.
    await until(async () => messagesCallsSince(calls - 1).at(-1)?.stream?.endedAt !== undefined);
    expect(messagesCallsSince(calls - 1).at(-1)!.stream).toMatchObject({ cancelled: true });
    const { events } = await readEventStream(stream);
    expect(events.at(-1)).toMatchObject({ event: 'cancelled', data: { turn: 2 } });
    expect(events.some((e) => e.event === 'done' || e.event === 'error')).toBe(false);
    expect(await openStreams(key)).toBe(0);
    const t = (await (await call(`/v1/conversations/${id}`, { headers: auth(key) })).json()) as any;
    expect(t.turns).toBe(1);
    const before = upstream.requests.length;
    const next = (await (await chat(key, { conversation_id: id, message: 'again' })).json()) as any;
    expect(next.turn).toBe(2);
    // The next turn's history is the last good state: start, its answer, again.
    expect(messagesCallsSince(before)[0]!.body.messages).toHaveLength(3);
  });

  it('stops a turn while Claude writes: the text so far, then cancelled, and the turn is not stored', async () => {
    const { key } = await createKey({ limits: { requests_per_minute: 1000 } });
    const first = (await (await chat(key, { message: 'start' })).json()) as any;
    const res = await chat(key, {
      conversation_id: first.conversation_id,
      message: 'write long [sim:words=3000] [sim:text_delay_ms=5]',
      stream: true,
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let body = '';
    while (!body.includes('event: text')) body += (await reader.read()).value;
    const upstreamCall = upstream.requests.filter((r) => r.path === '/v1/messages').at(-1)!;
    expect(upstreamCall.stream?.endedAt).toBeUndefined();
    expect((await cancel(key, first.conversation_id)).status).toBe(200);
    await until(async () => upstreamCall.stream?.endedAt !== undefined);
    expect(upstreamCall.stream?.cancelled).toBe(true);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += value;
    }
    expect(body).toMatch(/event: cancelled\ndata: \{"turn":2\}\n\n$/);
    // Well short of 3,000 words: the upstream read was stopped.
    expect(body.split('event: text').length - 1).toBeLessThan(3000);
    const t = (await (
      await call(`/v1/conversations/${first.conversation_id}`, { headers: auth(key) })
    ).json()) as any;
    expect(t.turns).toBe(1);
  });

  it("keeps a new conversation's id valid when its first turn is cancelled", async () => {
    const { key } = await createKey();
    const { id, stream } = await startStream(key, { message: 'first [sim:think_ms=5000]' });
    expect((await cancel(key, id)).status).toBe(200);
    await readEventStream(stream);
    const next = await chat(key, { conversation_id: id, message: 'retry' });
    expect(next.status).toBe(200);
    expect(((await next.json()) as any).turn).toBe(1);
  });

  it('answers 409 when no turn runs, and 404 for a conversation the key does not have', async () => {
    const { key } = await createKey();
    const other = await createKey();
    const { conversation_id } = (await (
      await chat(key, { message: 'done already' })
    ).json()) as any;
    await expectError(await cancel(key, conversation_id), 409, 'conflict_error');
    await expectError(await cancel(other.key, conversation_id), 404, 'not_found_error');
  });
});

describe('the transcript of a conversation with a turn running', () => {
  it('shows the running turn, also for a new conversation before its first turn ends, and drops it after', async () => {
    const { key } = await createKey({ limits: { requests_per_minute: 1000 } });
    const { id, stream } = await startStream(key, { message: 'first [sim:think_ms=1500]' });
    const during = (await (
      await call(`/v1/conversations/${id}`, { headers: auth(key) })
    ).json()) as any;
    expect(during).toMatchObject({ conversation_id: id, turns: 0, running: { turn: 1 } });
    expect(Date.parse(during.running.started_at)).not.toBeNaN();
    await readEventStream(stream);
    const after = (await (
      await call(`/v1/conversations/${id}`, { headers: auth(key) })
    ).json()) as any;
    expect(after.turns).toBe(1);
    expect(after.running).toBeUndefined();
  });
});
