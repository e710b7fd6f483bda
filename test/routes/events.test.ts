import { env, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { EventsStore } from '../../src/conversation/events-store';
import { conversationFor } from '../../src/conversation/object';
import { frame } from '../../src/conversation/sse';
import { auth, call, chat, createKey, expectError, okJson } from '../helpers/api';
import { parseSse, readEventStream } from '../helpers/sse';

const events = (key: string, id: string, headers: Record<string, string> = {}, query = '') =>
  call(`/v1/conversations/${id}/events${query}`, { headers: { ...auth(key), ...headers } });

const transcriptOf = async (key: string, id: string) =>
  okJson(await call(`/v1/conversations/${id}`, { headers: auth(key) }));

/** The text of the last answer in a transcript. */
const lastAnswerText = (t: any) =>
  t.messages
    .at(-1)
    .content.filter((b: any) => b.type === 'text')
    .map((b: any) => b.text)
    .join('');

/** Reads a stream until `count` events have arrived, then drops the connection. */
async function readThenDrop(res: Response, count: number) {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let body = '';
  while (parseSse(body).length < count) body += (await reader.read()).value ?? '';
  await reader.cancel();
  // Only whole events count: a client keeps what it parsed.
  return body.slice(0, body.lastIndexOf('\n\n') + 2);
}

const SLOW = '[sim:words=400] [sim:text_delay_ms=3]';

describe('GET /v1/conversations/:id/events', () => {
  it('reattaches a dropped stream with Last-Event-ID: before + after is the stored answer, with no repeat and no gap', async () => {
    const { key } = await createKey();
    const res = await chat(key, { message: `write ${SLOW}`, stream: true });
    const before = await readThenDrop(res, 6);
    const seen = parseSse(before);
    const id = seen[0]!.data.conversation_id as string;
    const last = seen.at(-1)!.id!;

    const again = await events(key, id, { 'last-event-id': last });
    expect(again.status).toBe(200);
    expect(again.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const after = (await readEventStream(again)).events;
    const all = [...seen, ...after];
    expect(all.map((e) => e.id)).toEqual(all.map((_, seq) => `1:${seq}`));
    expect(all.at(-1)!.event).toBe('done');
    const text = all
      .filter((e) => e.event === 'text')
      .map((e) => e.data.text)
      .join('');
    expect(text).toBe(lastAnswerText(await transcriptOf(key, id)));
  });

  it('takes ?after= as well, and answers byte for byte what was first sent', async () => {
    const { key } = await createKey();
    const first = await chat(key, { message: `write ${SLOW}`, stream: true });
    const original = await first.text();
    const id = parseSse(original)[0]!.data.conversation_id as string;
    const res = await events(key, id, {}, '?after=1:3');
    expect(res.status).toBe(200);
    const rest = await res.text();
    expect(rest).toBe(original.slice(original.indexOf('id: 1:4\n')));
  });

  it('serves two readers of one running turn, and one leaving changes nothing for the other', async () => {
    const { key } = await createKey();
    const res = await chat(key, { message: `write ${SLOW}`, stream: true });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let head = '';
    while (!head.includes('\n\n')) head += (await reader.read()).value;
    const id = parseSse(head)[0]!.data.conversation_id as string;

    const [second, third] = await Promise.all([events(key, id), events(key, id)]);
    await third.body!.cancel(); // a reader that leaves at once
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += value;
    }
    const original = parseSse(head + rest);
    const other = (await readEventStream(second)).events;
    expect(other.map((e) => [e.id, e.event, e.data])).toEqual(
      original.map((e) => [e.id, e.event, e.data]),
    );
    expect(original.at(-1)!.event).toBe('done');
  });

  it('without an id, gives the last finished turn, also once its events are only in storage', async () => {
    const { id: keyId, key } = await createKey();
    const first = await okJson(await chat(key, { message: 'one' }));
    const id = first.conversation_id as string;
    const original = await (
      await chat(key, { conversation_id: id, message: 'two', stream: true })
    ).text();
    // The finished turn's events go to the object's storage just after the turn.
    await new Promise((r) => setTimeout(r, 50));
    const stored = await runInDurableObject(conversationFor(env, keyId, id), (_o, state) =>
      new EventsStore(state.storage.sql).load(),
    );
    expect(stored?.turn).toBe(2);
    expect(stored?.frames.join('')).toBe(original);

    const res = await events(key, id);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(original);
  });

  it("lets a client watch a JSON turn's events live, from its start", async () => {
    const { key } = await createKey();
    const first = await okJson(await chat(key, { message: 'one' }));
    const id = first.conversation_id as string;
    const answer = chat(key, { conversation_id: id, message: `write ${SLOW}` });
    await new Promise((r) => setTimeout(r, 100));
    const watched = (await readEventStream(await events(key, id))).events;
    const body = await okJson(await answer);
    expect(watched[0]).toMatchObject({ id: '2:0', event: 'conversation' });
    expect(watched.at(-1)).toMatchObject({ event: 'done', data: { turn: 2 } });
    expect(
      watched
        .filter((e) => e.event === 'text')
        .map((e) => e.data.text)
        .join(''),
    ).toBe(body.content[0].text);
  });

  it('answers 204 after the last event of a finished turn, which stops an EventSource', async () => {
    const { key } = await createKey();
    const text = await (await chat(key, { message: 'hi', stream: true })).text();
    const sent = parseSse(text);
    const id = sent[0]!.data.conversation_id as string;
    const res = await events(key, id, { 'last-event-id': sent.at(-1)!.id! });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
  });

  it('is 404 for an id no longer held, a turn that never ran and an event never sent, saying so', async () => {
    const { key } = await createKey();
    const one = await okJson(await chat(key, { message: 'one' }));
    const id = one.conversation_id as string;
    await okJson(await chat(key, { conversation_id: id, message: 'two' }));
    await new Promise((r) => setTimeout(r, 50));

    const stale = await expectError(
      await events(key, id, { 'last-event-id': '1:2' }),
      404,
      'not_found_error',
    );
    expect(stale.message).toMatch(/turn 1 are no longer held/);
    const future = await expectError(
      await events(key, id, {}, '?after=9:0'),
      404,
      'not_found_error',
    );
    expect(future.message).toMatch(/latest turn is 2/);
    const unsent = await expectError(
      await events(key, id, {}, '?after=2:500'),
      404,
      'not_found_error',
    );
    expect(unsent.message).toMatch(/never sent/);
  });

  it('is 400 for a malformed id, in the header or the query', async () => {
    const { key } = await createKey();
    const { conversation_id: id } = await okJson(await chat(key, { message: 'one' }));
    for (const [headers, query] of [
      [{ 'last-event-id': 'banana' }, ''],
      [{ 'last-event-id': '1:-1' }, ''],
      [{}, '?after=0:1'],
      [{}, '?after=1:2:3'],
      [{}, `?after=${'9'.repeat(30)}:1`],
    ] as const) {
      const error = await expectError(
        await events(key, id, headers, query),
        400,
        'invalid_request_error',
      );
      expect(error.message).toMatch(/<turn>:<seq>/);
    }
  });

  it("is 404 for another key's conversation and for one that does not exist", async () => {
    const { key } = await createKey();
    const { key: other } = await createKey();
    const { conversation_id: id } = await okJson(await chat(key, { message: 'one' }));
    await expectError(await events(other, id), 404, 'not_found_error');
    await expectError(await events(other, id, { 'last-event-id': '1:0' }), 404, 'not_found_error');
    await expectError(await events(key, 'c_doesnotexist'), 404, 'not_found_error');
  });

  it('pings a reader while Claude thinks', async () => {
    const { key } = await createKey();
    const res = await chat(key, { message: 'think [sim:think_ms=1500]', stream: true });
    const head = await readThenDrop(res, 1);
    const id = parseSse(head)[0]!.data.conversation_id as string;
    const { comments, events: got } = await readEventStream(
      await events(key, id, { 'last-event-id': '1:0' }),
    );
    expect(comments).toContain('ping');
    expect(got.at(-1)!.event).toBe('done');
  });

  it('works with the eventsource client: a header key, a dropped connection, Last-Event-ID on reconnect, stopped by the 204', async () => {
    const { key } = await createKey();
    const first = await chat(key, { message: `write ${SLOW}`, stream: true });
    const head = await readThenDrop(first, 1);
    const id = parseSse(head)[0]!.data.conversation_id as string;

    const requests: Array<{ auth: string | null; lastEventId: string | null }> = [];
    const texts: string[] = [];
    const ids: string[] = [];
    let closed!: () => void;
    const stopped = new Promise<void>((r) => (closed = r));
    const source = new EventSource(`https://edge.test/v1/conversations/${id}/events`, {
      fetch: async (url, init) => {
        const request = new Request(url, { ...init, headers: { ...init.headers, ...auth(key) } });
        requests.push({
          auth: request.headers.get('authorization'),
          lastEventId: request.headers.get('last-event-id'),
        });
        const res = await exports.default.fetch(request);
        if (requests.length > 1 || !res.body) return res;
        // The first connection drops after a few events, as a phone's does.
        let bytes = 0;
        const cut = res.body.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              bytes += chunk.byteLength;
              controller.enqueue(chunk);
              if (bytes > 600) controller.error(new Error('network switch'));
            },
          }),
        );
        return new Response(cut, { status: res.status, headers: res.headers });
      },
    });
    source.addEventListener('text', (e) => {
      texts.push(JSON.parse(e.data).text);
      ids.push(e.lastEventId);
    });
    source.addEventListener('done', (e) => ids.push(e.lastEventId));
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) closed();
    };
    await stopped;

    expect(requests.length).toBeGreaterThanOrEqual(3); // first, reconnect, and the 204 after done
    expect(requests.every((r) => r.auth === `Bearer ${key}`)).toBe(true);
    expect(requests[0]!.lastEventId).toBeNull();
    expect(requests[1]!.lastEventId).toMatch(/^1:\d+$/);
    expect(requests.at(-1)!.lastEventId).toBe(ids.at(-1));
    expect(new Set(ids).size).toBe(ids.length); // nothing twice
    expect(texts.join('')).toBe(lastAnswerText(await transcriptOf(key, id)));
  }, 20_000);

  it('ends every attached stream with cancelled when the turn is cancelled', async () => {
    const { key } = await createKey();
    const res = await chat(key, { message: 'think [sim:think_ms=5000]', stream: true });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let head = '';
    while (!head.includes('\n\n')) head += (await reader.read()).value;
    const id = parseSse(head)[0]!.data.conversation_id as string;
    const readers = await Promise.all([events(key, id), events(key, id, {}, '?after=1:0')]);
    const cancelled = await call(`/v1/conversations/${id}/cancel`, {
      method: 'POST',
      headers: auth(key),
    });
    expect(cancelled.status).toBe(200);
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += value;
    }
    for (const got of [
      parseSse(head + rest),
      ...(await Promise.all(readers.map(async (r) => (await readEventStream(r)).events))),
    ]) {
      expect(got.at(-1)).toMatchObject({ event: 'cancelled', data: { turn: 1 } });
    }
  });

  it('lets go of the events when the conversation is deleted', async () => {
    const { key } = await createKey();
    const { conversation_id: id } = await okJson(await chat(key, { message: 'one' }));
    await new Promise((r) => setTimeout(r, 50));
    expect((await events(key, id)).status).toBe(200);
    expect(
      (await call(`/v1/conversations/${id}`, { method: 'DELETE', headers: auth(key) })).status,
    ).toBe(204);
    await expectError(await events(key, id), 404, 'not_found_error');
  });
});

describe('EventsStore', () => {
  it('keeps a very long turn in parts under the row size limit, and gives back the same frames', async () => {
    const { id: keyId } = await createKey();
    const frames = Array.from({ length: 20_000 }, (_, seq) =>
      frame(1, seq, { event: 'text', data: { text: `word${seq} `.repeat(8) } }),
    );
    const stub = conversationFor(env, keyId, 'c_longturn');
    const { parts, loaded } = await runInDurableObject(stub, (_o, state) => {
      const store = new EventsStore(state.storage.sql);
      store.save(1, frames, Date.now() + 60_000);
      const parts = state.storage.sql
        .exec<{ n: number; longest: number }>(
          'SELECT COUNT(*) AS n, MAX(LENGTH(frames)) AS longest FROM turn_events',
        )
        .one();
      return { parts, loaded: store.load()!.frames };
    });
    expect(frames.join('').length).toBeGreaterThan(2 * 1024 * 1024);
    expect(parts.n).toBeGreaterThan(3);
    expect(parts.longest).toBeLessThanOrEqual(512 * 1024);
    expect(loaded).toEqual(frames);
  });

  it('keeps the later turn when an earlier one is saved after it, and forgets expired events', async () => {
    const { id: keyId } = await createKey();
    const stub = conversationFor(env, keyId, 'c_order');
    const result = await runInDurableObject(stub, (_o, state) => {
      const store = new EventsStore(state.storage.sql);
      const a = frame(3, 0, {
        event: 'conversation',
        data: { conversation_id: 'c_order', turn: 3 },
      });
      const b = frame(2, 0, {
        event: 'conversation',
        data: { conversation_id: 'c_order', turn: 2 },
      });
      store.save(3, [a], Date.now() + 60_000);
      store.save(2, [b], Date.now() + 60_000);
      const kept = store.load()?.turn;
      store.save(4, [a], Date.now() - 1);
      return { kept, expired: store.load(), turn: store.turn() };
    });
    expect(result).toEqual({ kept: 3, expired: null, turn: null });
  });
});
