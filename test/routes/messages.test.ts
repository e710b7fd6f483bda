// POST /v1/messages through the official SDK, used as a client would: its fetch is the Worker.
import Anthropic, { APIError, AuthenticationError, RateLimitError } from '@anthropic-ai/sdk';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { auth, call, createKey, expectError } from '../helpers/api';
import { until } from '../helpers/time';
import { messagesCallsSince, upstream, UPSTREAM_KEY } from '../helpers/upstream';

const sdk = (apiKey: string) =>
  new Anthropic({
    apiKey,
    baseURL: 'https://edge.test',
    maxRetries: 0,
    fetch: (url: string | URL | Request, init?: RequestInit) =>
      exports.default.fetch(new Request(url, init)),
  });

const WEATHER: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather for a location',
  input_schema: {
    type: 'object',
    properties: { location: { type: 'string' } },
    required: ['location'],
  },
};

const usageOf = async (key: string) =>
  ((await (await call('/v1/usage', { headers: auth(key) })).json()) as any).used;

describe('POST /v1/messages', () => {
  it('answers messages.create as the API does, with thinking omitted by default and the operator key upstream', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const message = await sdk(key).messages.create({
      model: 'claude-opus-4-8',
      max_tokens: 2000,
      thinking: { type: 'adaptive' },
      messages: [{ role: 'user', content: 'Why is the sky blue?' }],
    });
    expect(message.stop_reason).toBe('end_turn');
    const thinking = message.content.find((b) => b.type === 'thinking') as Anthropic.ThinkingBlock;
    expect(thinking.thinking).toBe('');
    expect(thinking.signature.length).toBeGreaterThan(10);
    const [sent] = messagesCallsSince(before);
    expect(sent!.body.thinking).toEqual({ type: 'adaptive', display: 'omitted' });
    expect(sent!.headers['x-api-key']).toBe(UPSTREAM_KEY);
    expect(JSON.stringify(sent!.headers)).not.toContain(key);
  });

  it('passes a display the client set through unchanged', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    await sdk(key).messages.create({
      model: 'claude-opus-4-8',
      max_tokens: 2000,
      thinking: { type: 'adaptive', display: 'summarized' },
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(messagesCallsSince(before)[0]!.body.thinking).toEqual({
      type: 'adaptive',
      display: 'summarized',
    });
  });

  it('streams with messages.stream: finalMessage has the signature-only thinking block, stop_reason and usage, charged to the key', async () => {
    const { key } = await createKey();
    const stream = sdk(key).messages.stream({
      model: 'claude-opus-4-8',
      max_tokens: 2000,
      thinking: { type: 'adaptive' },
      messages: [{ role: 'user', content: 'Tell me a story [sim:words=200]' }],
    });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'thinking', thinking: '' });
    expect((final.content[0] as Anthropic.ThinkingBlock).signature).not.toBe('');
    expect(final.stop_reason).toBe('end_turn');
    const used = await usageOf(key);
    const u = final.usage;
    expect(used.tokens_today).toBe(
      u.input_tokens +
        u.output_tokens +
        (u.cache_creation_input_tokens ?? 0) +
        (u.cache_read_input_tokens ?? 0),
    );
    // The slot was freed before the stream ended.
    expect(used.open_streams).toBe(0);
  });

  it("charges what a client's own compaction used (usage.iterations), which the top-level usage leaves out", async () => {
    const { key } = await createKey({ limits: { tokens_per_day: 10_000_000 } });
    const stream = sdk(key).beta.messages.stream({
      model: 'claude-opus-4-8',
      max_tokens: 2000,
      betas: ['compact-2026-01-12'],
      context_management: {
        edits: [{ type: 'compact_20260112', trigger: { type: 'input_tokens', value: 50_000 } }],
      },
      messages: [{ role: 'user', content: `${'many words '.repeat(24_000)} [sim:words=50]` }],
    });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'compaction', content: expect.any(String) });
    const iterations = final.usage.iterations ?? [];
    expect(iterations.map((i) => i.type)).toEqual(['compaction', 'message']);
    const all = iterations.reduce(
      (sum, i) =>
        sum +
        i.input_tokens +
        i.output_tokens +
        i.cache_creation_input_tokens +
        i.cache_read_input_tokens,
      0,
    );
    expect(all).toBeGreaterThan(50_000);
    expect((await usageOf(key)).tokens_today).toBe(all);
  });

  it('carries a client-side tool loop, the thinking blocks replayed unmodified', async () => {
    const { key } = await createKey();
    const client = sdk(key);
    const params = {
      model: 'claude-opus-4-8',
      max_tokens: 4000,
      thinking: { type: 'adaptive' } as const,
      tools: [WEATHER],
    };
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client.messages.stream({ ...params, messages }).finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    const call = first.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock;
    messages.push(
      { role: 'assistant', content: first.content as Anthropic.ContentBlockParam[] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '21°C' }] },
    );
    const second = await client.messages.create({ ...params, messages });
    expect(second.stop_reason).toBe('end_turn');

    // A modified thinking block is refused by Claude, and the SDK raises its typed error.
    const tampered = structuredClone(messages);
    const blocks = (tampered[1]!.content as Anthropic.ContentBlockParam[]).map((b) =>
      b.type === 'thinking' ? { ...b, signature: b.signature.slice(0, -4) + 'AAAA' } : b,
    );
    tampered[1] = { role: 'assistant', content: blocks };
    await expect(client.messages.create({ ...params, messages: tampered })).rejects.toBeInstanceOf(
      Anthropic.BadRequestError,
    );
  });

  it("refuses a wrong key with the SDK's AuthenticationError, and a publishable key with 403", async () => {
    await expect(
      sdk('sk_' + 'A'.repeat(32)).messages.create({
        model: 'claude-opus-4-8',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    ).rejects.toBeInstanceOf(AuthenticationError);
    const pk = await createKey({ kind: 'publishable', allowed_origins: ['https://m.example'] });
    const res = await call('/v1/messages', {
      method: 'POST',
      headers: { ...auth(pk.key), origin: 'https://m.example' },
      json: {
        model: 'claude-opus-4-8',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'hi' }],
      },
    });
    await expectError(res, 403, 'permission_error');
  });

  it('takes x-api-key as the SDK may send it, and refuses malformed JSON in the error shape', async () => {
    const { key } = await createKey();
    const ok = await call('/v1/messages', {
      method: 'POST',
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01' },
      json: {
        model: 'claude-opus-4-8',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'hi' }],
      },
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as any).type).toBe('message');
    const bad = await call('/v1/messages', {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: '{"model":',
    });
    await expectError(bad, 400, 'invalid_request_error');
  });

  it("raises RateLimitError with retry-after when the key's slots are spent, and frees the slot after each call", async () => {
    const { key } = await createKey({ limits: { tokens_per_day: 300 } });
    const client = sdk(key);
    await client.messages.create({
      model: 'claude-opus-4-8',
      max_tokens: 2000,
      messages: [{ role: 'user', content: 'spend [sim:words=400]' }],
    });
    const refused = await client.messages
      .create({
        model: 'claude-opus-4-8',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'more' }],
      })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RateLimitError);
    expect(Number((refused as RateLimitError).headers?.get('retry-after'))).toBeGreaterThan(0);
    expect((await usageOf(key)).open_streams).toBe(0);
  });

  it('passes an upstream 529 mid-stream to the SDK as its error event, and charges what was used', async () => {
    const { key } = await createKey();
    const stream = sdk(key).messages.stream({
      model: 'claude-opus-4-8',
      max_tokens: 2000,
      messages: [{ role: 'user', content: 'bad [sim:fail=midstream_error]' }],
    });
    const error = await stream.finalMessage().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(APIError);
    expect(String((error as APIError).message)).toMatch(/overloaded/i);
    const used = await usageOf(key);
    expect(used.open_streams).toBe(0);
    expect(used.tokens_today).toBeGreaterThan(0);
  });

  it('frees the slot and charges what was used when the client goes away mid-stream', async () => {
    const { key } = await createKey();
    const res = await call('/v1/messages', {
      method: 'POST',
      headers: auth(key),
      json: {
        model: 'claude-opus-4-8',
        max_tokens: 4000,
        stream: true,
        messages: [{ role: 'user', content: 'long [sim:words=3000] [sim:text_delay_ms=5]' }],
      },
    });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('text_delta'))
      seen += new TextDecoder().decode((await reader.read()).value);
    expect((await usageOf(key)).open_streams).toBe(1);
    await reader.cancel();
    await until(async () => (await usageOf(key)).open_streams === 0);
    expect((await usageOf(key)).tokens_today).toBeGreaterThan(0);
  });

  it('passes an upstream refusal through with its status and retry-after', async () => {
    const { key } = await createKey();
    const res = await call('/v1/messages', {
      method: 'POST',
      headers: auth(key),
      json: {
        model: 'claude-opus-4-8',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'slow down [sim:fail=rate_limit_retry_after]' }],
      },
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(((await res.json()) as any).error.type).toBe('rate_limit_error');
    expect((await usageOf(key)).open_streams).toBe(0);
  });

  it('sends metadata.user_id upstream and counts it for that end user', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    await sdk(key).messages.create({
      model: 'claude-opus-4-8',
      max_tokens: 100,
      metadata: { user_id: 'u_sdk' },
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(messagesCallsSince(before)[0]!.body.metadata).toEqual({ user_id: 'u_sdk' });
    const user = (await (await call('/v1/usage?user=u_sdk', { headers: auth(key) })).json()) as any;
    expect(user.used.tokens_today).toBeGreaterThan(0);
  });
});
