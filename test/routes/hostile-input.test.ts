import { describe, expect, it } from 'vitest';
import { call, chat, createKey, expectError, okJson } from '../helpers/api';
import { messagesCallsSince, upstream } from '../helpers/upstream';

const calculator = {
  name: 'calculator',
  description: 'Evaluates arithmetic',
  input_schema: { type: 'object', properties: { expression: { type: 'string' } } },
};

describe('hostile and unusual input', () => {
  it('refuses 100,000 tool_results by their number, naming a few ids at most', async () => {
    const { key } = await createKey();
    const first = await okJson(
      await chat(key, { message: 'add [sim:tool_steps=1]', tools: [calculator] }),
    );
    const before = upstream.requests.length;
    const results = Array.from({ length: 100_000 }, (_, i) => ({
      tool_use_id: `toolu_${i}`,
      content: 'x',
    }));
    const res = await chat(key, { conversation_id: first.conversation_id, tool_results: results });
    const error = await expectError(res, 400, 'invalid_request_error');
    expect(error.message).toMatch(/tool_results: must hold at most 512/);
    expect(error.message.length).toBeLessThan(300);
    // Within the bound, unknown ids are named a few at a time with how many more there are.
    const some = await chat(key, {
      conversation_id: first.conversation_id,
      tool_results: results.slice(0, 40),
    });
    const named = await expectError(some, 400, 'invalid_request_error');
    expect(named.message).toMatch(/and \d+ more/);
    expect(named.message.length).toBeLessThan(600);
    expect(messagesCallsSince(before)).toHaveLength(0);
  });

  it('answers a body nested thousands of levels deep with a 400, not a 500', async () => {
    const { key } = await createKey();
    const deep = '{"a":'.repeat(2300) + '1' + '}'.repeat(2300);
    const body = `{"message":"hi","tools":[{"name":"t","input_schema":{"type":"object","properties":${deep}}}]}`;
    const res = await call('/v1/chat', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
    });
    expect((await expectError(res, 400, 'invalid_request_error')).message).toMatch(
      /more than 64 levels deep/,
    );
  });

  it('sends a tool whose input_schema has a "__proto__" property to Claude byte for byte', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const body = `{"message":"hi","tools":[{"name":"t","input_schema":{"type":"object","properties":{"__proto__":{"type":"string"}}}}]}`;
    const res = await call('/v1/chat', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
    });
    const answer = await okJson(res);
    const [sent] = messagesCallsSince(before);
    const properties = sent!.body.tools[0].input_schema.properties;
    expect(Object.hasOwn(properties, '__proto__')).toBe(true);
    // The next turn sends the same tools again: the stored copy kept them too (or it would
    // be refused as a change of tools).
    const pending = answer.content.find((b: { type: string }) => b.type === 'tool_use');
    const next = await call('/v1/chat', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body.replace(
        '{"message":"hi"',
        `{"conversation_id":"${answer.conversation_id}","tool_results":[{"tool_use_id":"${pending.id}","content":"ok"}]`,
      ),
    });
    expect(next.status).toBe(200);
  });

  it('says so when the Authorization header is sent twice', async () => {
    const headers = new Headers({ 'content-type': 'application/json' });
    headers.append('authorization', 'Bearer sk_aaaaaaaaaaaaaaaaaaaa');
    headers.append('authorization', 'Bearer sk_bbbbbbbbbbbbbbbbbbbb');
    const res = await call('/v1/chat', { method: 'POST', headers, body: '{"message":"hi"}' });
    expect((await expectError(res, 401, 'authentication_error')).message).toMatch(/more than once/);
  });

  it('takes thinking in the Messages API shapes, with the same per-model rules and display omitted', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    await okJson(
      await chat(key, {
        message: 'hi',
        model: 'claude-sonnet-4-5',
        max_tokens: 4000,
        thinking: { type: 'enabled', budget_tokens: 2000 },
      }),
    );
    await okJson(await chat(key, { message: 'hi', thinking: { type: 'adaptive' } }));
    const [manual, adaptive] = messagesCallsSince(before);
    expect(manual!.body.thinking).toEqual({
      type: 'enabled',
      budget_tokens: 2000,
      display: 'omitted',
    });
    expect(adaptive!.body.thinking).toEqual({ type: 'adaptive', display: 'omitted' });
    const refused = await chat(key, {
      message: 'hi',
      model: 'claude-sonnet-4-5',
      thinking: { type: 'adaptive', display: 'summarized' },
    });
    expect((await expectError(refused, 400, 'invalid_request_error')).message).toMatch(
      /does not take adaptive thinking/,
    );
  });

  it('says what a tool result content must be', async () => {
    const { key } = await createKey();
    const res = await chat(key, {
      conversation_id: 'c_x',
      tool_results: [{ tool_use_id: 'toolu_1', content: 42 }],
    });
    expect((await expectError(res, 400, 'invalid_request_error')).message).toMatch(
      /tool_results\.0\.content: must be a string, or an array of content blocks/,
    );
  });

  it("shows a secret key's answers to no web page, and a publishable key's to its own origins", async () => {
    const sk = await createKey();
    const res = await call('/v1/usage', {
      headers: { authorization: `Bearer ${sk.key}`, origin: 'https://evil.example' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const pk = await createKey({ kind: 'publishable', allowed_origins: ['https://shop.example'] });
    const own = await call('/v1/usage', {
      headers: { authorization: `Bearer ${pk.key}`, origin: 'https://shop.example' },
    });
    expect(own.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(own.headers.get('access-control-expose-headers')).toContain('Idempotent-Replayed');
  });

  it('refuses a caller without a valid key before reading its body', async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 1000) controller.close();
        else controller.enqueue(new Uint8Array(1024));
      },
    });
    const res = await call('/v1/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      // @ts-expect-error — workerd's fetch takes a streamed body with duplex
      duplex: 'half',
    });
    await expectError(res, 401, 'authentication_error');
    expect(pulled).toBeLessThan(1000);
  });
});
