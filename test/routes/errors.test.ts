import { describe, expect, it } from 'vitest';
import { auth, call, chat, createKey, expectError } from '../helpers/api';
import { messagesCallsSince, UPSTREAM_KEY, upstream } from '../helpers/upstream';

describe('errors in the contract shape', () => {
  it('answers unknown routes with 404 and wrong methods with 405 + Allow', async () => {
    await expectError(await call('/v2/nothing'), 404, 'not_found_error');
    const res = await call('/health', { method: 'DELETE' });
    expect(res.headers.get('allow')).toBe('GET');
    const body = (await res.json()) as any;
    expect(res.status).toBe(405);
    expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it('answers malformed bodies with a 400 that says how to fix them, before calling Claude', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const cases: Array<[BodyInit, RegExp]> = [
      ['{"message": "hi"', /not valid JSON/],
      ['', /empty/],
      ['[1,2]', /JSON object/],
      ['"just a string"', /JSON object/],
      [JSON.stringify({}), /exactly one of "message"/],
      [
        JSON.stringify({ message: 'a', tool_results: [{ tool_use_id: 'x', content: 'y' }] }),
        /exactly one of/,
      ],
      [JSON.stringify({ message: '' }), /message/],
      [JSON.stringify({ message: 42 }), /message/],
      [JSON.stringify({ message: [{ type: 'tool_use', id: 'x' }] }), /type/],
      [JSON.stringify({ message: 'hi', temperature: 0.2 }), /temperature/],
      [JSON.stringify({ message: 'hi', max_tokens: 0 }), /max_tokens/],
      [JSON.stringify({ message: 'hi', max_tokens: 1.5 }), /max_tokens/],
      [JSON.stringify({ message: 'hi', thinking: { effort: 'extreme' } }), /thinking/],
      [
        JSON.stringify({ message: 'hi', thinking: { type: 'enabled', budget_tokens: 2000 } }),
        /thinking/,
      ],
      [JSON.stringify({ message: 'hi', stream: 'yes' }), /stream/],
      [
        JSON.stringify({
          message: 'hi',
          tools: [{ name: 'bad name!', input_schema: { type: 'object' } }],
        }),
        /tools\.0\.name/,
      ],
      [JSON.stringify({ message: 'hi', tool_choice: { type: 'any' } }), /no tools/],
      [JSON.stringify({ message: 'hi', model: 'claude-2' }), /Choose one of/],
      [
        JSON.stringify({
          message: 'hi',
          model: 'claude-opus-4-8',
          thinking: { budget_tokens: 4000 },
        }),
        /manual thinking budget/,
      ],
      [
        JSON.stringify({
          message: 'hi',
          model: 'claude-sonnet-4-5',
          thinking: { budget_tokens: 500 },
        }),
        /at least 1024/,
      ],
      [
        JSON.stringify({ message: 'hi', model: 'claude-opus-5-5', thinking: { type: 'disabled' } }),
        /always thinks/,
      ],
      [
        JSON.stringify({ message: 'hi', model: 'claude-sonnet-5', max_tokens: 200_000 }),
        /output limit/,
      ],
      [
        JSON.stringify({
          message: 'hi',
          model: 'claude-sonnet-4-6',
          thinking: { budget_tokens: 2048 },
          max_tokens: 4096,
          tools: [{ name: 't', input_schema: { type: 'object' } }],
          tool_choice: { type: 'any' },
        }),
        /forced tool_choice.*manual thinking budget/,
      ],
      [
        JSON.stringify({
          message: 'hi',
          model: 'claude-opus-5-5',
          tools: [{ name: 't', input_schema: { type: 'object' } }],
          tool_choice: { type: 'tool', name: 't' },
        }),
        /does not accept a forced tool_choice/,
      ],
    ];
    for (const [body, pattern] of cases) {
      const res = await call('/v1/chat', {
        method: 'POST',
        headers: { ...auth(key), 'content-type': 'application/json' },
        body,
      });
      const error = await expectError(res, 400, 'invalid_request_error');
      expect(error.message, String(body)).toMatch(pattern);
    }
    expect(messagesCallsSince(before)).toHaveLength(0);
  });

  it('refuses a body over MAX_BODY_BYTES with 413 before calling Claude', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const big = JSON.stringify({ message: 'x'.repeat(10 * 1024 * 1024 + 10) });
    const res = await call('/v1/chat', {
      method: 'POST',
      headers: { ...auth(key), 'content-type': 'application/json' },
      body: big,
    });
    expect((await expectError(res, 413, 'request_too_large')).message).toMatch(/10485760 bytes/);
    expect(messagesCallsSince(before)).toHaveLength(0);
  });

  it('retries an overloaded upstream before the first byte, and the client sees one answer', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const res = await chat(key, { message: 'busy [sim:fail=overloaded_once]' });
    expect(res.status).toBe(200);
    expect(messagesCallsSince(before)).toHaveLength(2);
  });

  it('passes a persistent overload through as 529 overloaded_error after the retries', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    await expectError(
      await chat(key, { message: 'down [sim:fail=overloaded]' }),
      529,
      'overloaded_error',
    );
    expect(messagesCallsSince(before)).toHaveLength(3);
  });

  it('never retries a 429 without retry-after (it may be a spend cap) and passes it through', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const res = await chat(key, { message: 'cap [sim:fail=rate_limit]' });
    expect(res.headers.get('retry-after')).toBeNull();
    await expectError(res, 429, 'rate_limit_error');
    expect(messagesCallsSince(before)).toHaveLength(1);
  });

  it('retries a 429 with a short retry-after, then passes it through with retry-after', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const res = await chat(key, { message: 'slow down [sim:fail=rate_limit_retry_after]' });
    expect(res.headers.get('retry-after')).toBe('1');
    await expectError(res, 429, 'rate_limit_error');
    expect(messagesCallsSince(before)).toHaveLength(3);
  });

  it('hides a rejected upstream credential behind an api_error and never echoes the upstream key', async () => {
    const { key } = await createKey();
    const res = await chat(key, { message: 'who am i [sim:fail=auth]' });
    const text = await res.clone().text();
    expect(text).not.toContain(UPSTREAM_KEY);
    const error = await expectError(res, 500, 'api_error');
    expect(error.message).toMatch(/ANTHROPIC_API_KEY/);
  });

  it('leaves a conversation at its last good state when a JSON turn fails', async () => {
    const { key } = await createKey();
    const first = (await (await chat(key, { message: 'fine' })).json()) as any;
    await expectError(
      await chat(key, {
        conversation_id: first.conversation_id,
        message: 'x [sim:fail=midstream_error]',
      }),
      529,
      'overloaded_error',
    );
    const t = (await (
      await call(`/v1/conversations/${first.conversation_id}`, { headers: auth(key) })
    ).json()) as any;
    expect(t.turns).toBe(1);
    const next = (await (
      await chat(key, { conversation_id: first.conversation_id, message: 'again' })
    ).json()) as any;
    expect(next.turn).toBe(2);
  });
});
