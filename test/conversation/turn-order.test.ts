import { env, evictDurableObject, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { auth, call, chat, createKey, expectError } from '../helpers/api';
import { readEventStream } from '../helpers/sse';
import { messagesCallsSince, upstream } from '../helpers/upstream';

/** A two-turn conversation whose KV copy is put back to its one-turn version, as another location might still serve it. */
async function twoTurnsWithStaleKvCopy() {
  const { id: keyId, key } = await createKey();
  const { conversation_id } = (await (await chat(key, { message: 'one' })).json()) as any;
  const kvKey = `conv:${keyId}:${conversation_id}`;
  const afterOne = await env.CONVERSATIONS.get(kvKey);
  await chat(key, { conversation_id, message: 'two' });
  await env.CONVERSATIONS.put(kvKey, afterOne!);
  return { keyId, key, conversation_id: conversation_id as string };
}

describe('one turn at a time per conversation', () => {
  it('refuses a second simultaneous turn with 409, and the transcript counts only the answered turns', async () => {
    const { key } = await createKey();
    const first = (await (await chat(key, { message: 'start' })).json()) as any;
    const id = first.conversation_id;
    const [a, b] = await Promise.all([
      chat(key, { conversation_id: id, message: 'left [sim:think_ms=2000]', stream: true }),
      chat(key, { conversation_id: id, message: 'right [sim:think_ms=2000]', stream: true }),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 409]);
    const refused = a.status === 409 ? a : b;
    expect((await expectError(refused, 409, 'conflict_error')).message).toMatch(/still running/);
    const accepted = a.status === 200 ? a : b;
    expect((await readEventStream(accepted)).events.at(-1)!.event).toBe('done');

    const t = (await (await call(`/v1/conversations/${id}`, { headers: auth(key) })).json()) as any;
    expect(t.turns).toBe(2);
    expect(t.messages).toHaveLength(4);
    // The conversation is free again.
    expect((await chat(key, { conversation_id: id, message: 'next' })).status).toBe(200);
  });

  it('frees the conversation after a failed turn', async () => {
    const { key } = await createKey();
    const { conversation_id } = (await (await chat(key, { message: 'start' })).json()) as any;
    await expectError(
      await chat(key, { conversation_id, message: 'x [sim:fail=api_error]' }),
      500,
      'api_error',
    );
    const next = (await (await chat(key, { conversation_id, message: 'again' })).json()) as any;
    expect(next.turn).toBe(2);
  });

  it('continues from the turn it stored, never from a stale KV copy', async () => {
    const { key, conversation_id } = await twoTurnsWithStaleKvCopy();
    const before = upstream.requests.length;
    const res = await chat(key, { conversation_id, message: 'three' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).turn).toBe(3);
    const [sent] = messagesCallsSince(before);
    // one, its answer, two, its answer, three: the whole chain.
    expect(sent!.body.messages).toHaveLength(5);
  });

  it('refuses a KV read older than the last committed turn when it has nothing in memory (409)', async () => {
    const { keyId, key, conversation_id } = await twoTurnsWithStaleKvCopy();
    // As after an eviction: the object keeps its committed count, not the conversation.
    await evictDurableObject(env.CONVERSATIONS_DO.getByName(`${keyId}:${conversation_id}`));
    const before = upstream.requests.length;
    const res = await chat(key, { conversation_id, message: 'three' });
    const error = await expectError(res, 409, 'conflict_error');
    expect(error.message).toMatch(/latest turn \(2 turns\)/);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(messagesCallsSince(before)).toHaveLength(0);
  });

  it('leaves no stored object behind for a conversation that does not exist', async () => {
    const { id: keyId, key } = await createKey();
    const conversation_id = 'c_doesnotexist0000000000';
    await expectError(await chat(key, { conversation_id, message: 'hi' }), 404, 'not_found_error');
    const stub = env.CONVERSATIONS_DO.getByName(`${keyId}:${conversation_id}`);
    await runInDurableObject(stub, (_instance, state) => {
      const tables = state.storage.sql
        .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'state'")
        .toArray();
      expect(tables).toEqual([]);
    });
  });
});
