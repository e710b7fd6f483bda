/**
 * Long conversations (API.md "Long conversations"): a conversation many times the model's
 * context window goes on, because the edge asks Claude to compact and then sends the history
 * from the latest compaction block; a model that cannot compact gets a 400 in words and loses
 * nothing; refusals and window stops reach the client in words. The simulator's window is
 * shrunk to 60,000 tokens here and COMPACT_AT_INPUT_TOKENS is 50,000 (vitest.config.ts).
 */
import { env } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auth, call, chat, createKey, expectError, okJson } from '../helpers/api';
import { parseSse } from '../helpers/sse';
import { messagesCallsSince, upstream } from '../helpers/upstream';

const WINDOW = 60_000;
const TURNS = 26;
beforeEach(() => {
  upstream.options.contextWindowTokens = WINDOW;
});
afterEach(() => {
  upstream.options.contextWindowTokens = undefined;
});

/** About `tokens` tokens of text (the simulator counts four characters a token). */
const filler = (tag: string, tokens: number) =>
  `${tag}: ${'lorem ipsum dolor sit amet '.repeat(Math.ceil((tokens * 4) / 27))}`.slice(
    0,
    tokens * 4,
  );
const BIG_BUDGET = { limits: { tokens_per_day: 1_000_000_000, requests_per_minute: 1000 } };

async function stored(keyId: string, id: string): Promise<any> {
  return env.CONVERSATIONS.get(`conv:${keyId}:${id}`, 'json');
}
const chars = (value: unknown) => JSON.stringify(value).length;

describe('a conversation that outgrows the context window, on a model that compacts', () => {
  it('goes on turn after turn (JSON): the compaction block goes back unmodified and nothing before it is sent again', async () => {
    const { id: keyId, key } = await createKey(BIG_BUDGET);
    const from = upstream.requests.length;
    let conversationId: string | undefined;
    const answers: any[] = [];
    // The conversation as stored when each turn was sent.
    const storedBefore: any[] = [];
    for (let turn = 1; turn <= TURNS; turn++) {
      storedBefore[turn] = conversationId ? await stored(keyId, conversationId) : null;
      const answer = await okJson(
        await chat(key, {
          ...(conversationId ? { conversation_id: conversationId } : {}),
          message: `${filler(`message ${turn}`, 4000)} [sim:words=2500]`,
        }),
      );
      conversationId = answer.conversation_id;
      expect(answer.turn).toBe(turn);
      expect(answer.stop_reason).toBe('end_turn');
      answers.push(answer);
    }
    const conversation = await stored(keyId, conversationId!);
    // The history the edge holds is several windows long (four characters a token)...
    expect(chars(conversation.messages) / 4).toBeGreaterThan(3 * WINDOW);
    // ...while no request sent more than a window.
    const sent = messagesCallsSince(from);
    expect(sent).toHaveLength(TURNS);
    for (const request of sent) expect(chars(request.body.messages) / 4).toBeLessThan(WINDOW);

    const compacted = answers.flatMap((a, i) => (a.usage.compaction ? [i + 1] : []));
    expect(compacted.length).toBeGreaterThanOrEqual(2);
    expect(conversation.compactions.map((c: any) => c.turn)).toEqual(compacted);
    expect(conversation.compactions[0].summarized_turns).toBe(compacted[0]! - 1);

    // Every request after a compaction starts at the latest compaction block, exactly as stored.
    for (const [i, request] of sent.entries()) {
      const turn = i + 1;
      const latest = compacted.filter((t) => t < turn).at(-1);
      const first = request.body.messages[0];
      if (latest === undefined) {
        expect(first.role).toBe('user');
        continue;
      }
      const storedAnswer = storedBefore[turn].messages[2 * latest - 1];
      expect(first).toEqual(storedAnswer);
      expect(first.content[0]).toMatchObject({ type: 'compaction', content: expect.any(String) });
      expect(request.body.messages).toHaveLength(2 * (turn - latest));
      // No message from before the compaction is sent again (the summary may quote them).
      const users = request.body.messages
        .filter((m: any) => m.role === 'user')
        .map((m: any) => String(m.content).split(':')[0]);
      expect(users).toEqual(
        Array.from({ length: turn - latest }, (_, k) => `message ${latest + 1 + k}`),
      );
      expect(request.headers['anthropic-beta']).toContain('compact-2026-01-12');
      expect(request.body.context_management).toEqual({
        edits: [{ type: 'compact_20260112', trigger: { type: 'input_tokens', value: 50_000 } }],
      });
    }

    // Stored: before the latest compaction block, no thinking and no earlier compaction (never
    // sent again, never shown); the latest block and the thinking after it, as Claude sent them.
    const last = compacted.at(-1)!;
    const blockTypes = (m: any) =>
      typeof m.content === 'string' ? [] : m.content.map((b: any) => b.type);
    const before = conversation.messages.slice(0, 2 * last - 1).flatMap(blockTypes);
    expect(before).not.toContain('thinking');
    expect(before).not.toContain('compaction');
    expect(before).toContain('text');
    expect(conversation.messages[2 * last - 1].content[0]).toMatchObject({
      type: 'compaction',
      content: expect.any(String),
      encrypted_content: expect.any(String),
    });
    for (const m of conversation.messages
      .slice(2 * last - 1)
      .filter((m: any) => m.role === 'assistant'))
      expect(blockTypes(m)).toContain('thinking');

    // The transcript keeps every turn, and shows no compaction content.
    const transcript = await okJson(
      await call(`/v1/conversations/${conversationId}`, { headers: auth(key) }),
    );
    expect(transcript.turns).toBe(TURNS);
    expect(transcript.messages).toHaveLength(2 * TURNS);
    for (let turn = 1; turn <= TURNS; turn++) {
      expect(transcript.messages[2 * (turn - 1)].content).toContain(`message ${turn}:`);
      expect(transcript.messages[2 * turn - 1].content).toEqual(answers[turn - 1].content);
    }
    expect(JSON.stringify(transcript)).not.toContain('encrypted_content');
    expect(transcript.compactions).toEqual(conversation.compactions);

    // The day's budget counts what compaction used, which the top-level usage leaves out.
    const charged = answers.reduce((sum, a) => {
      const parts = [a.usage, a.usage.compaction ?? {}];
      return (
        sum +
        parts.reduce(
          (s, u: any) =>
            s +
            (u.input_tokens ?? 0) +
            (u.output_tokens ?? 0) +
            (u.cache_creation_input_tokens ?? 0) +
            (u.cache_read_input_tokens ?? 0),
          0,
        )
      );
    }, 0);
    // Each compaction read the whole history before it: more than the trigger.
    for (const { usage } of answers.filter((a) => a.usage.compaction)) {
      const { input_tokens, cache_creation_input_tokens, cache_read_input_tokens } =
        usage.compaction;
      expect(input_tokens + cache_creation_input_tokens + cache_read_input_tokens).toBeGreaterThan(
        50_000,
      );
    }
    const usage = await okJson(await call('/v1/usage', { headers: auth(key) }));
    expect(usage.used.tokens_today).toBe(charged);

    // Counting the next turn counts what it would send: from the latest compaction block.
    const counted = await okJson(
      await call(`/v1/conversations/${conversationId}/count_tokens`, {
        method: 'POST',
        headers: auth(key),
        json: { message: 'one more' },
      }),
    );
    expect(counted.input_tokens).toBeLessThan(WINDOW);
    const count = upstream.requests.at(-1)!;
    expect(count.path).toBe('/v1/messages/count_tokens');
    expect(count.body.messages[0]).toEqual(conversation.messages[2 * compacted.at(-1)! - 1]);
    expect(count.headers['anthropic-beta']).toContain('compact-2026-01-12');
  }, 120_000);

  it('streams the compaction: status "compacting" first, usage.compaction in done, and the next turn goes on', async () => {
    const { key } = await createKey(BIG_BUDGET);
    let conversationId: string | undefined;
    let compactingTurn: any[] | undefined;
    for (let turn = 1; turn <= 8 && !compactingTurn; turn++) {
      const res = await chat(key, {
        ...(conversationId ? { conversation_id: conversationId } : {}),
        message: `${filler(`message ${turn}`, 6000)} [sim:words=3000]`,
        stream: true,
      });
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
      const events = parseSse(await res.text());
      conversationId = events[0]!.data.conversation_id;
      const done = events.at(-1)!;
      expect(done.event).toBe('done');
      if (done.data.usage.compaction) compactingTurn = events;
    }
    expect(compactingTurn).toBeDefined();
    const phases = compactingTurn!.filter((e) => e.event === 'status').map((e) => e.data.phase);
    expect(phases[0]).toBe('compacting');
    expect(phases.slice(1)).toContain('answering');
    const next = parseSse(
      await (
        await chat(key, { conversation_id: conversationId, message: 'and then?', stream: true })
      ).text(),
    );
    expect(next.at(-1)).toMatchObject({ event: 'done', data: { stop_reason: 'end_turn' } });
  }, 120_000);
});

describe('a conversation that outgrows the context window, on a model that cannot compact', () => {
  const MODEL = { model: 'claude-sonnet-4-5', thinking: { budget_tokens: 2048 }, max_tokens: 4096 };

  it('is a 400 that says so and how to go on, and the conversation stays at its last good state', async () => {
    const { id: keyId, key } = await createKey(BIG_BUDGET);
    const first = await okJson(await chat(key, { ...MODEL, message: filler('one', 25_000) }));
    const id = first.conversation_id;
    await okJson(await chat(key, { conversation_id: id, message: filler('two', 25_000) }));
    const before = await stored(keyId, id);
    expect(before.turns).toBe(2);
    const from = upstream.requests.length;

    const res = await chat(key, { conversation_id: id, message: filler('three', 25_000) });
    const error = await expectError(res, 400, 'invalid_request_error');
    expect(error.message).toMatch(/outgrown claude-sonnet-4-5's context window/);
    expect(error.message).toMatch(/prompt is too long/);
    expect(error.message).toMatch(/start a new conversation/i);
    // Claude was asked (and refused); no compaction was asked of a model that cannot.
    const [sent] = messagesCallsSince(from);
    expect(sent!.body.context_management).toBeUndefined();
    expect(await stored(keyId, id)).toEqual(before);

    // Streamed, the same words arrive as the error event.
    const events = parseSse(
      await (
        await chat(key, { conversation_id: id, message: filler('three', 25_000), stream: true })
      ).text(),
    );
    expect(events.at(-1)).toMatchObject({
      event: 'error',
      data: { type: 'invalid_request_error', message: expect.stringMatching(/outgrown/) },
    });
    expect(await stored(keyId, id)).toEqual(before);
  }, 60_000);

  it('stores an answer cut off by the window, and says why in stop_details', async () => {
    const { id: keyId, key } = await createKey(BIG_BUDGET);
    const answer = await okJson(
      await chat(key, {
        ...MODEL,
        max_tokens: 20_000,
        message: `${filler('long', 50_000)} [sim:words=20000]`,
      }),
    );
    expect(answer.stop_reason).toBe('model_context_window_exceeded');
    expect(answer.stop_details).toEqual({
      type: 'model_context_window_exceeded',
      explanation: expect.stringMatching(/cannot compact/),
    });
    expect((await stored(keyId, answer.conversation_id)).turns).toBe(1);
  }, 60_000);
});

describe('refusals', () => {
  it('reach the client with stop_details; the refused exchange is left out and the conversation goes on', async () => {
    const { id: keyId, key } = await createKey();
    const first = await okJson(await chat(key, { message: 'hello' }));
    const id = first.conversation_id;
    const refused = await okJson(
      await chat(key, { conversation_id: id, message: 'something bad [sim:refusal=cyber]' }),
    );
    expect(refused.turn).toBe(2);
    expect(refused.stop_reason).toBe('refusal');
    expect(refused.stop_details).toMatchObject({
      type: 'refusal',
      category: 'cyber',
      explanation: expect.any(String),
    });
    const conversation = await stored(keyId, id);
    expect(conversation.turns).toBe(2);
    expect(conversation.messages).toHaveLength(2);
    expect(conversation.refusals).toEqual([
      {
        turn: 2,
        at: expect.any(String),
        category: 'cyber',
        explanation: refused.stop_details.explanation,
        message: { role: 'user', content: 'something bad [sim:refusal=cyber]' },
        answer: refused.content,
      },
    ]);

    // Streamed: the done event carries the details too.
    const events = parseSse(
      await (
        await chat(key, {
          conversation_id: id,
          message: 'again [sim:refusal=bio]',
          stream: true,
        })
      ).text(),
    );
    expect(events.at(-1)).toMatchObject({
      event: 'done',
      data: { stop_reason: 'refusal', stop_details: { type: 'refusal', category: 'bio' }, turn: 3 },
    });

    const from = upstream.requests.length;
    const next = await okJson(await chat(key, { conversation_id: id, message: 'a fair question' }));
    expect(next.turn).toBe(4);
    expect(next.stop_reason).toBe('end_turn');
    const [sent] = messagesCallsSince(from);
    expect(JSON.stringify(sent!.body.messages)).not.toContain('something bad');
    const transcript = await okJson(await call(`/v1/conversations/${id}`, { headers: auth(key) }));
    expect(transcript.refusals.map((r: any) => r.turn)).toEqual([2, 3]);
    expect(transcript.refusals[1].message).toEqual({
      role: 'user',
      content: 'again [sim:refusal=bio]',
    });
    expect(transcript.messages).toHaveLength(4);
  });
});
