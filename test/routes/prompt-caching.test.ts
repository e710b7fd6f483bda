import { describe, expect, it } from 'vitest';
import { auth, call, chat, createKey, expectError, okJson } from '../helpers/api';
import { readEventStream } from '../helpers/sse';
import { messagesCallsSince, upstream } from '../helpers/upstream';

// Long enough to pass the 1,024-token minimum a prefix needs to be cached.
const SYSTEM = `You are a patient tutor. ${'Explain every step, check the student understood, and keep answers short. '.repeat(60)}`;

async function turn(key: string, body: Record<string, unknown>) {
  return okJson(await chat(key, body));
}

describe('prompt caching', () => {
  it('reads turns 1..N from the cache on turn N+1 of a five-turn conversation, and the usage adds up', async () => {
    const { key } = await createKey();
    const usages: any[] = [];
    let conversation_id: string | undefined;
    for (let n = 1; n <= 5; n++) {
      const body = {
        message: `Question ${n}: what comes next?`,
        ...(conversation_id ? { conversation_id } : { system: SYSTEM }),
        stream: true,
      };
      const { events } = await readEventStream(await chat(key, body));
      const done = events.at(-1)!;
      expect(done.event).toBe('done');
      conversation_id = events[0]!.data.conversation_id;
      usages.push(done.data.usage);
    }
    // Turn 1 writes the prefix; every later turn reads more than the one before.
    expect(usages[0].cache_read_input_tokens).toBe(0);
    expect(usages[0].cache_creation_input_tokens).toBeGreaterThan(1024);
    for (let n = 1; n < 5; n++) {
      expect(usages[n].cache_read_input_tokens).toBeGreaterThan(
        usages[n - 1].cache_read_input_tokens,
      );
      // What turn N wrote (and read) is what turn N+1 reads.
      expect(usages[n].cache_read_input_tokens).toBe(
        usages[n - 1].cache_read_input_tokens + usages[n - 1].cache_creation_input_tokens,
      );
    }
    // The day's totals are the sum of what each turn reported.
    const day = ((await (await call('/v1/usage', { headers: auth(key) })).json()) as any).used;
    const sum = (f: (u: any) => number) => usages.reduce((a, u) => a + f(u), 0);
    expect(day.cache_read_input_tokens_today).toBe(sum((u) => u.cache_read_input_tokens));
    expect(day.cache_creation_input_tokens_today).toBe(sum((u) => u.cache_creation_input_tokens));
    expect(day.tokens_today).toBe(
      sum(
        (u) =>
          u.input_tokens +
          u.output_tokens +
          u.cache_read_input_tokens +
          u.cache_creation_input_tokens,
      ),
    );
  });

  it('asks Claude why the cache missed, naming the previous turn', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const first = await turn(key, { message: 'one', system: SYSTEM });
    await turn(key, { conversation_id: first.conversation_id, message: 'two' });
    const [a, b] = messagesCallsSince(before);
    expect(a!.body.diagnostics).toEqual({ previous_message_id: null });
    expect(b!.body.diagnostics.previous_message_id).toMatch(/^msg_/);
    expect(b!.body.cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
  });

  it('honours and records a thinking change on a new user turn; the system prompt stays cached', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const first = await turn(key, {
      message: 'one',
      system: SYSTEM,
      model: 'claude-opus-4-8',
      thinking: { effort: 'low' },
    });
    const id = first.conversation_id;
    await turn(key, { conversation_id: id, message: 'two' });
    const changed = await turn(key, {
      conversation_id: id,
      message: 'three',
      thinking: { effort: 'high' },
    });
    const calls = messagesCallsSince(before);
    expect(calls.map((c) => c.body.output_config)).toEqual([
      { effort: 'low' },
      { effort: 'low' },
      { effort: 'high' },
    ]);
    // Messages are re-written after the change, but the system prompt is still read.
    expect(changed.usage.cache_read_input_tokens).toBeGreaterThan(1024);
    const transcript = (await (
      await call(`/v1/conversations/${id}`, { headers: auth(key) })
    ).json()) as any;
    expect(transcript.thinking).toEqual({ effort: 'high' });
    expect(transcript.thinking_changes).toEqual([
      { turn: 3, thinking: { effort: 'high' }, at: expect.any(String) },
    ]);
  });

  it('keeps the thinking configuration through a tool loop', async () => {
    const { key } = await createKey();
    const tools = [
      { name: 'lookup', input_schema: { type: 'object', properties: { q: { type: 'string' } } } },
    ];
    const before = upstream.requests.length;
    let answer = await turn(key, {
      message: 'two steps [sim:tool_steps=2]',
      tools,
      thinking: { effort: 'medium' },
      model: 'claude-opus-4-8',
    });
    while (answer.stop_reason === 'tool_use') {
      const calls = answer.content.filter((b: any) => b.type === 'tool_use');
      answer = await turn(key, {
        conversation_id: answer.conversation_id,
        tool_results: calls.map((c: any) => ({ tool_use_id: c.id, content: 'x' })),
      });
    }
    const sent = messagesCallsSince(before);
    expect(sent).toHaveLength(3);
    for (const r of sent) {
      expect(r.body.thinking).toEqual({ type: 'adaptive', display: 'omitted' });
      expect(r.body.output_config).toEqual({ effort: 'medium' });
    }
  });

  it('uses the key TTL when it sets one, and sends no breakpoint when caching is off for the key', async () => {
    const short = await createKey({ prompt_cache_ttl: '5m' });
    const off = await createKey({ prompt_cache_ttl: 'off' });
    const before = upstream.requests.length;
    await turn(short.key, { message: 'a', system: 'S' });
    await turn(off.key, { message: 'b', system: 'S' });
    const [a, b] = messagesCallsSince(before);
    expect(a!.body.cache_control).toEqual({ type: 'ephemeral', ttl: '5m' });
    expect(a!.body.system).toEqual([
      { type: 'text', text: 'S', cache_control: { type: 'ephemeral', ttl: '5m' } },
    ]);
    expect(b!.body.cache_control).toBeUndefined();
    expect(b!.body.system).toBe('S');
  });
});

describe('latency levers', () => {
  it('sends speed "fast" for a key that asks for it, with the beta header only where the model needs it', async () => {
    const { key } = await createKey({ latency: { speed: 'fast', service_tier: 'auto' } });
    const before = upstream.requests.length;
    await turn(key, { message: 'quick', model: 'claude-opus-5-5' });
    await turn(key, { message: 'quick', model: 'claude-opus-4-8' });
    const [ga, preview] = messagesCallsSince(before);
    expect(ga!.body.speed).toBe('fast');
    expect(ga!.body.service_tier).toBe('auto');
    expect(ga!.headers['anthropic-beta'] ?? '').not.toContain('fast-mode');
    expect(preview!.body.speed).toBe('fast');
    expect(preview!.headers['anthropic-beta']).toContain('fast-mode-2026-02-01');
  });

  it('refuses fast mode on a model without it, before calling Claude', async () => {
    const { key } = await createKey({ latency: { speed: 'fast' } });
    const before = upstream.requests.length;
    const res = await chat(key, { message: 'quick', model: 'claude-sonnet-5' });
    expect((await expectError(res, 400, 'invalid_request_error')).message).toMatch(
      /fast mode is not available on claude-sonnet-5/,
    );
    expect(messagesCallsSince(before)).toHaveLength(0);
  });

  it('lets a request choose speed and service_tier only where its key allows', async () => {
    const plain = await createKey();
    await expectError(
      await chat(plain.key, { message: 'x', speed: 'fast', model: 'claude-opus-5-5' }),
      403,
      'permission_error',
    );
    const chooser = await createKey({ latency: { client_may_choose: true } });
    const before = upstream.requests.length;
    await turn(chooser.key, {
      message: 'x',
      speed: 'fast',
      service_tier: 'standard_only',
      model: 'claude-opus-5-5',
    });
    const [sent] = messagesCallsSince(before);
    expect(sent!.body).toMatchObject({ speed: 'fast', service_tier: 'standard_only' });
  });
});
