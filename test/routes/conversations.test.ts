import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { auth, call, chat, createKey, expectError } from '../helpers/api';
import { messagesCallsSince, upstream } from '../helpers/upstream';

describe('conversations', () => {
  it('returns the transcript in order with user messages, tool results, text and tool calls', async () => {
    const { key } = await createKey();
    const tools = [
      { name: 'lookup', input_schema: { type: 'object', properties: { q: { type: 'string' } } } },
    ];
    const first = (await (
      await chat(key, { message: 'find it', tools, system: 'You look things up.' })
    ).json()) as any;
    const toolUse = first.content.find((b: any) => b.type === 'tool_use');
    await chat(key, {
      conversation_id: first.conversation_id,
      tool_results: [{ tool_use_id: toolUse.id, content: 'found' }],
    });
    const res = await call(`/v1/conversations/${first.conversation_id}`, { headers: auth(key) });
    expect(res.status).toBe(200);
    const t = (await res.json()) as any;
    expect(t).toMatchObject({
      conversation_id: first.conversation_id,
      model: 'claude-sonnet-5',
      system: 'You look things up.',
      turns: 2,
    });
    expect(Date.parse(t.created_at)).toBeLessThanOrEqual(Date.parse(t.updated_at));
    expect(t.messages.map((m: any) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(t.messages[0].content).toBe('find it');
    expect(t.messages[1].content.map((b: any) => b.type)).toEqual(['text', 'tool_use']);
    expect(t.messages[2].content[0]).toMatchObject({
      type: 'tool_result',
      tool_use_id: toolUse.id,
      content: 'found',
    });
  });

  it('hides a conversation from every other key with a 404', async () => {
    const owner = await createKey();
    const other = await createKey();
    const { conversation_id } = (await (await chat(owner.key, { message: 'mine' })).json()) as any;
    await expectError(
      await call(`/v1/conversations/${conversation_id}`, { headers: auth(other.key) }),
      404,
      'not_found_error',
    );
    await expectError(
      await call(`/v1/conversations/${conversation_id}`, {
        method: 'DELETE',
        headers: auth(other.key),
      }),
      404,
      'not_found_error',
    );
    await expectError(
      await chat(other.key, { conversation_id, message: 'steal' }),
      404,
      'not_found_error',
    );
    expect(
      (await call(`/v1/conversations/${conversation_id}`, { headers: auth(owner.key) })).status,
    ).toBe(200);
  });

  it('deletes a conversation', async () => {
    const { key } = await createKey();
    const { conversation_id } = (await (await chat(key, { message: 'bye' })).json()) as any;
    expect(
      (await call(`/v1/conversations/${conversation_id}`, { method: 'DELETE', headers: auth(key) }))
        .status,
    ).toBe(204);
    await expectError(
      await call(`/v1/conversations/${conversation_id}`, { headers: auth(key) }),
      404,
      'not_found_error',
    );
  });

  it('stores conversations with the configured TTL (7 days by default)', async () => {
    const { id, key } = await createKey();
    const { conversation_id } = (await (await chat(key, { message: 'ttl' })).json()) as any;
    const { keys } = await env.CONVERSATIONS.list({ prefix: `conv:${id}:` });
    const entry = keys.find((k) => k.name === `conv:${id}:${conversation_id}`);
    const expected = Date.now() / 1000 + 7 * 24 * 3600;
    expect(Math.abs(entry!.expiration! - expected)).toBeLessThan(60);
  });

  it('refuses a changed system prompt or tools on a continuing turn, explaining the signature binding', async () => {
    const { key } = await createKey();
    const tools = [{ name: 'a', input_schema: { type: 'object' } }];
    const { conversation_id } = (await (
      await chat(key, {
        message: 'start [sim:no_thinking]',
        system: 'S1',
        tools,
        tool_choice: { type: 'none' },
      })
    ).json()) as any;
    const before = upstream.requests.length;
    const sys = await chat(key, { conversation_id, message: 'next', system: 'S2' });
    expect((await expectError(sys, 400, 'invalid_request_error')).message).toMatch(
      /system.*signatures/,
    );
    const tl = await chat(key, {
      conversation_id,
      message: 'next',
      tools: [{ name: 'b', input_schema: { type: 'object' } }],
    });
    expect((await expectError(tl, 400, 'invalid_request_error')).message).toMatch(
      /tools.*signatures/,
    );
    expect(messagesCallsSince(before)).toHaveLength(0);
    // The same ones, even re-serialised with another key order, are fine.
    const same = await chat(key, {
      conversation_id,
      message: 'next',
      system: 'S1',
      tools: [{ input_schema: { type: 'object' }, name: 'a' }],
      tool_choice: { type: 'none' },
    });
    expect(same.status).toBe(200);
  });

  it('answers an unknown conversation id with 404', async () => {
    const { key } = await createKey();
    await expectError(
      await chat(key, { conversation_id: 'c_doesnotexist', message: 'hi' }),
      404,
      'not_found_error',
    );
    await expectError(
      await call('/v1/conversations/c_nope', { headers: auth(key) }),
      404,
      'not_found_error',
    );
  });
});
