import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import { auth, call, chat, createKey, expectError, okJson } from '../helpers/api';
import { upstream, UPSTREAM_KEY } from '../helpers/upstream';

const MODEL = 'claude-sonnet-5';
const body = {
  model: MODEL,
  system: 'You answer in one sentence.',
  messages: [{ role: 'user', content: 'How far away is the Moon?' }],
};

function countMessages(headers: Record<string, string>, json: unknown = body) {
  return call('/v1/messages/count_tokens', { method: 'POST', headers, json });
}

function countConversation(
  key: string,
  id: string,
  json: unknown,
  headers: Record<string, string> = auth(key),
) {
  return call(`/v1/conversations/${id}/count_tokens`, { method: 'POST', headers, json });
}

/** The simulator's own count of a body, asked directly with the operator's key. */
async function simulatorCount(counted: unknown): Promise<number> {
  const res = await upstream.fetch(
    new Request('http://simulator.test/v1/messages/count_tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': UPSTREAM_KEY },
      body: JSON.stringify(counted),
    }),
  );
  return ((await okJson(res)) as { input_tokens: number }).input_tokens;
}

const usageOf = async (key: string) =>
  ((await okJson(await call('/v1/usage', { headers: auth(key) }))) as any).used;

const countCalls = (from: number) =>
  upstream.requests.slice(from).filter((r) => r.path === '/v1/messages/count_tokens');

const promptTotal = (usage: any) =>
  usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens;

describe('POST /v1/messages/count_tokens', () => {
  it('answers Claude’s count of the request, for a secret key as Bearer or x-api-key', async () => {
    const { key } = await createKey();
    const expected = await simulatorCount(body);
    const from = upstream.requests.length;
    const bearer = await countMessages(auth(key));
    expect(bearer.headers.get('request-id')).toMatch(/.+/);
    expect(bearer.headers.get('ratelimit')).toMatch(/"minute"/);
    const answer = await okJson(bearer);
    expect(answer).toEqual({ input_tokens: expected });
    expect(answer.input_tokens).toBeGreaterThan(0);
    expect(await okJson(await countMessages({ 'x-api-key': key }))).toEqual(answer);
    // The client's body, byte for byte, under the operator's key: never the client's.
    const calls = countCalls(from);
    expect(calls).toHaveLength(2);
    for (const sent of calls) {
      expect(sent.body).toEqual(body);
      expect(sent.headers['x-api-key']).toBe(UPSTREAM_KEY);
      expect(JSON.stringify(sent.headers)).not.toContain(key);
    }
  });

  it('costs no tokens of the day and counts one request in the minute', async () => {
    const { key } = await createKey();
    await chat(key, { message: 'spend a few tokens first' });
    const before = await usageOf(key);
    expect(before.tokens_today).toBeGreaterThan(0);
    await okJson(await countMessages(auth(key)));
    const after = await usageOf(key);
    expect(after.tokens_today).toBe(before.tokens_today);
    // The count and the second GET /v1/usage.
    expect(after.requests_this_minute).toBe(before.requests_this_minute + 2);
  });

  it('refuses a publishable key from its own origin with a 403 that says why', async () => {
    const pk = await createKey({ kind: 'publishable', allowed_origins: ['https://x.example'] });
    const from = upstream.requests.length;
    const error = await expectError(
      await countMessages({ ...auth(pk.key), origin: 'https://x.example' }),
      403,
      'permission_error',
    );
    expect(error.message).toContain('secret key');
    expect(countCalls(from)).toHaveLength(0);
  });

  it('refuses a body that is not JSON, or names no model or messages, before calling Claude', async () => {
    const { key } = await createKey();
    const from = upstream.requests.length;
    const malformed = await call('/v1/messages/count_tokens', {
      method: 'POST',
      headers: { ...auth(key), 'content-type': 'application/json' },
      body: '{"model": ',
    });
    expect((await expectError(malformed, 400, 'invalid_request_error')).message).toContain('JSON');
    const { model: _, ...noModel } = body;
    expect(
      (await expectError(await countMessages(auth(key), noModel), 400, 'invalid_request_error'))
        .message,
    ).toContain('model');
    await expectError(
      await countMessages(auth(key), { model: MODEL }),
      400,
      'invalid_request_error',
    );
    expect(countCalls(from)).toHaveLength(0);
  });

  it('refuses a model outside ALLOWED_MODELS with a 400 naming the allowed ones', async () => {
    const { key } = await createKey();
    const from = upstream.requests.length;
    const ctx = createExecutionContext();
    const res = await app.fetch(
      new Request('https://edge.test/v1/messages/count_tokens', {
        method: 'POST',
        headers: { ...auth(key), 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, model: 'claude-opus-4-8' }),
      }),
      { ...env, ALLOWED_MODELS: MODEL },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const error = await expectError(res, 400, 'invalid_request_error');
    expect(error.message).toContain(`model: "claude-opus-4-8" is not allowed`);
    expect(error.message).toContain(MODEL);
    expect(countCalls(from)).toHaveLength(0);
  });

  it('passes Claude’s own refusal on as it is, with its request id', async () => {
    const { key } = await createKey();
    const res = await countMessages(auth(key), { ...body, max_tokens: 100 });
    expect(res.status).toBe(400);
    const refusal = (await res.json()) as any;
    expect(refusal).toMatchObject({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message: 'max_tokens: Extra inputs are not permitted',
      },
    });
    // Claude's body as it came, so its request_id is Claude's; ours is on request-id.
    expect(refusal.request_id).toBe(res.headers.get('upstream-request-id'));
    expect(res.headers.get('request-id')).toMatch(/.+/);
  });
});

describe('POST /v1/conversations/:id/count_tokens', () => {
  const tools = [
    { name: 'lookup', input_schema: { type: 'object', properties: { q: { type: 'string' } } } },
  ];

  it('counts the next turn — history with its thinking, system, tools, new message — as the turn’s usage will', async () => {
    const { key } = await createKey();
    const answerTools = async (id: string, answer: any) => {
      const call = answer.content.find((b: any) => b.type === 'tool_use');
      return okJson(
        await chat(key, {
          conversation_id: id,
          tool_results: [{ tool_use_id: call.id, content: 'High water 06:12 and 18:40.' }],
        }),
      );
    };
    const first = await okJson(
      await chat(key, {
        message: 'Look up the tide tables.',
        system: 'You look things up.',
        tools,
      }),
    );
    const id = first.conversation_id;
    // A message the turn would refuse is refused here the same way, before calling Claude.
    const waiting = await expectError(
      await countConversation(key, id, { message: 'Never mind.' }),
      400,
      'invalid_request_error',
    );
    expect(waiting.message).toContain('tool_results');
    await answerTools(id, first);

    const short = (await okJson(await countConversation(key, id, { message: 'And the moon?' })))
      .input_tokens;
    const from = upstream.requests.length;
    const next = { message: 'And the moon phase? Tell me about spring tides as well.' };
    const counted = (await okJson(await countConversation(key, id, next))).input_tokens;
    expect(counted).toBeGreaterThan(short);
    const [sent] = countCalls(from);
    // The turn's prompt fields only, the stored thinking blocks replayed, no generation settings.
    expect(sent!.headers['x-api-key']).toBe(UPSTREAM_KEY);
    expect(Object.keys(sent!.body).sort()).toEqual(
      ['cache_control', 'messages', 'model', 'system', 'thinking', 'tools'].sort(),
    );
    expect(sent!.body.messages.map((m: any) => m.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
    ]);
    expect(sent!.body.messages[1].content.map((b: any) => b.type)).toEqual([
      'thinking',
      'text',
      'tool_use',
    ]);
    expect(sent!.body.messages[4]).toEqual({ role: 'user', content: next.message });

    // The turn itself sends the same prompt (max_tokens and diagnostics aside, which the
    // simulator, like Claude, does not count), so its usage adds up to the count exactly.
    const turn = await okJson(await chat(key, { conversation_id: id, ...next }));
    expect(promptTotal(turn.usage)).toBe(counted);

    // After the turn (and its tool call answered) the history it added is counted too.
    await answerTools(id, turn);
    const after = await okJson(await countConversation(key, id, next));
    expect(after.input_tokens).toBeGreaterThan(counted);
  });

  it('takes x-api-key, costs no tokens and counts one request', async () => {
    const { key } = await createKey();
    const { conversation_id: id } = await okJson(await chat(key, { message: 'Hello there.' }));
    const before = await usageOf(key);
    await okJson(await countConversation(key, id, { message: 'hi' }, { 'x-api-key': key }));
    const after = await usageOf(key);
    expect(after.tokens_today).toBe(before.tokens_today);
    expect(after.requests_this_minute).toBe(before.requests_this_minute + 2);
  });

  it('is a 404 for an unknown conversation, another key’s, or a malformed id', async () => {
    const owner = await createKey();
    const other = await createKey();
    const { conversation_id: id } = await okJson(await chat(owner.key, { message: 'mine' }));
    const from = upstream.requests.length;
    for (const [key, target] of [
      [owner.key, 'c_doesNotExist123'],
      [other.key, id],
      [owner.key, 'not-an-id'],
    ] as const) {
      await expectError(
        await countConversation(key, target, { message: 'hi' }),
        404,
        'not_found_error',
      );
    }
    expect(countCalls(from)).toHaveLength(0);
  });

  it('refuses a body other than {"message"} with a 400 naming the field, and a pk_ key with a 403', async () => {
    const { key } = await createKey();
    const { conversation_id: id } = await okJson(await chat(key, { message: 'Hello.' }));
    for (const [json, field] of [
      [{}, 'message'],
      [{ message: '' }, 'message'],
      [{ message: 'hi', tools }, 'tools'],
      [{ message: [{ type: 'tool_result', tool_use_id: 'x' }] }, 'message'],
    ] as const) {
      const error = await expectError(
        await countConversation(key, id, json),
        400,
        'invalid_request_error',
      );
      expect(error.message, JSON.stringify(json)).toContain(field);
    }
    const malformed = await call(`/v1/conversations/${id}/count_tokens`, {
      method: 'POST',
      headers: { ...auth(key), 'content-type': 'application/json' },
      body: 'message=hi',
    });
    await expectError(malformed, 400, 'invalid_request_error');

    const pk = await createKey({ kind: 'publishable', allowed_origins: ['https://x.example'] });
    const { conversation_id: theirs } = await okJson(
      await chat(pk.key, { message: 'from a page' }, { origin: 'https://x.example' }),
    );
    await expectError(
      await countConversation(
        pk.key,
        theirs,
        { message: 'hi' },
        {
          ...auth(pk.key),
          origin: 'https://x.example',
        },
      ),
      403,
      'permission_error',
    );
  });
});
