import { describe, expect, it } from 'vitest';
import { expectError, json, newSim, post, WEATHER_TOOL } from './helpers';

const user = (content: string) => ({ role: 'user', content });
const base = { model: 'claude-opus-4-8', max_tokens: 4000, messages: [user('hi')] };

const invalid = async (body: unknown, headers?: Record<string, string>) => {
  const e = await expectError(newSim(), body, headers);
  expect(e.status).toBe(400);
  expect(e.type).toBe('invalid_request_error');
  return e.message;
};

describe('error shape', () => {
  it('uses the API error body with request_id matching the request-id header', async () => {
    const e = await expectError(newSim(), { ...base, model: 'claude-nope-1' });
    expect(e.status).toBe(404);
    expect(e.body).toEqual({
      type: 'error',
      error: { type: 'not_found_error', message: 'model: claude-nope-1' },
      request_id: e.requestId,
    });
    expect(e.requestId).toMatch(/^req_/);
  });

  it('answers GET /health and 404s unknown routes', async () => {
    const sim = newSim();
    expect((await sim.fetch(new Request('http://sim/health'))).status).toBe(200);
    const res = await sim.fetch(new Request('http://sim/v1/other', { method: 'POST' }));
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.type).toBe('not_found_error');
  });

  it('records every request in order', async () => {
    const sim = newSim();
    await post(sim, base, { 'x-test': '1' });
    await post(sim, 'not json');
    expect(sim.requests).toHaveLength(2);
    expect(sim.requests[0]).toMatchObject({ method: 'POST', path: '/v1/messages', body: base });
    expect(sim.requests[0]!.headers['x-test']).toBe('1');
    expect(sim.requests[1]!.body).toBe('not json');
  });
});

describe('authentication', () => {
  const sim = newSim({ apiKey: 'sk-sim' });
  it('accepts Bearer and x-api-key', async () => {
    expect((await post(sim, base, { authorization: 'Bearer sk-sim' })).status).toBe(200);
    expect((await post(sim, base, { 'x-api-key': 'sk-sim' })).status).toBe(200);
  });
  it('rejects a missing or wrong key with 401 authentication_error', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer nope' },
      { 'x-api-key': 'nope' },
    ];
    for (const headers of attempts) {
      const e = await expectError(sim, base, headers);
      expect([e.status, e.type]).toEqual([401, 'authentication_error']);
    }
  });
});

describe('request shape', () => {
  it('rejects bodies that are not JSON objects', async () => {
    expect(await invalid('{nope')).toMatch(/not valid JSON/);
    expect(await invalid('[1]')).toMatch(/JSON object/);
  });
  it('requires model, max_tokens and messages', async () => {
    expect(await invalid({ max_tokens: 1, messages: [user('x')] })).toBe('model: Field required');
    expect(await invalid({ model: 'claude-opus-4-8', messages: [user('x')] })).toBe(
      'max_tokens: Field required',
    );
    expect(await invalid({ ...base, max_tokens: 0 })).toMatch(
      /^max_tokens: .*greater than or equal to 1/,
    );
    expect(await invalid({ ...base, max_tokens: 1.5 })).toMatch(/^max_tokens: .*integer/);
    expect(await invalid({ model: 'claude-opus-4-8', max_tokens: 1 })).toBe(
      'messages: Field required',
    );
    expect(await invalid({ ...base, messages: [] })).toMatch(/^messages: at least one message/);
  });
  it('enforces the model output limit', async () => {
    expect(await invalid({ ...base, model: 'claude-sonnet-4-5', max_tokens: 64_001 })).toBe(
      'max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5',
    );
    expect((await post(newSim(), { ...base, max_tokens: 128_000 })).status).toBe(200);
    expect(await invalid({ ...base, max_tokens: 128_001 })).toMatch(/128000/);
  });
  it('checks roles', async () => {
    expect(
      await invalid({ ...base, messages: [{ role: 'assistant', content: 'x' }, user('y')] }),
    ).toMatch(/first message must use the "user" role/);
    expect(await invalid({ ...base, messages: [user('a'), user('b')] })).toMatch(
      /roles must alternate/,
    );
    expect(
      await invalid({ ...base, messages: [user('a'), { role: 'assistant', content: 'b' }] }),
    ).toMatch(/does not support assistant message prefill/);
  });
  it('rejects temperature, top_p and top_k under the 2026-10-21 API version', async () => {
    expect(await invalid({ ...base, temperature: 1 })).toBe(
      'temperature: Extra inputs are not permitted',
    );
    expect(await invalid({ ...base, top_p: 0.99 })).toBe('top_p: Extra inputs are not permitted');
    expect(await invalid({ ...base, top_k: 5 })).toBe('top_k: Extra inputs are not permitted');
  });
  it('keeps the old sampling rules under anthropic-version 2023-06-01', async () => {
    const old = { 'anthropic-version': '2023-06-01' };
    expect((await post(newSim(), { ...base, temperature: 1 }, old)).status).toBe(200);
    expect(await invalid({ ...base, temperature: 0.5 }, old)).toMatch(/temperature/);
  });
  it('rejects unknown top-level fields unless a beta is in use', async () => {
    expect(await invalid({ ...base, frobnicate: true })).toBe(
      'frobnicate: Extra inputs are not permitted',
    );
    const beta = { 'anthropic-beta': 'some-beta-2026-01-01' };
    expect((await post(newSim(), { ...base, frobnicate: true }, beta)).status).toBe(200);
  });
  it('takes metadata with an optional user_id of at most 256 characters, and nothing else', async () => {
    for (const metadata of [
      {},
      { user_id: 'u_1' },
      { user_id: 'x'.repeat(256) },
      { user_id: null },
    ])
      expect((await post(newSim(), { ...base, metadata })).status).toBe(200);
    expect(await invalid({ ...base, metadata: 'u_1' })).toMatch(/^metadata: .*object/);
    expect(await invalid({ ...base, metadata: ['u_1'] })).toMatch(/^metadata: .*object/);
    expect(await invalid({ ...base, metadata: { user_id: 7 } })).toBe(
      'metadata.user_id: Input should be a valid string',
    );
    expect(await invalid({ ...base, metadata: { user_id: 'x'.repeat(257) } })).toBe(
      'metadata.user_id: String should have at most 256 characters',
    );
    expect(await invalid({ ...base, metadata: { user_id: 'u_1', email: 'a@b.c' } })).toBe(
      'metadata.email: Extra inputs are not permitted',
    );
  });
});

describe('thinking configuration', () => {
  it('rejects enabled on Opus 4.8', async () => {
    expect(await invalid({ ...base, thinking: { type: 'enabled', budget_tokens: 2000 } })).toBe(
      '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.',
    );
  });
  it('rejects adaptive on Sonnet 4.5', async () => {
    expect(
      await invalid({ ...base, model: 'claude-sonnet-4-5', thinking: { type: 'adaptive' } }),
    ).toBe('adaptive thinking is not supported on this model');
  });
  it('enforces budget_tokens >= 1024 and < max_tokens', async () => {
    const sonnet = { ...base, model: 'claude-sonnet-4-5' };
    expect(
      await invalid({ ...sonnet, thinking: { type: 'enabled', budget_tokens: 1000 } }),
    ).toMatch(/^thinking\.enabled\.budget_tokens: .*1024/);
    expect(
      await invalid({
        ...sonnet,
        max_tokens: 2000,
        thinking: { type: 'enabled', budget_tokens: 2000 },
      }),
    ).toMatch(/^`max_tokens` must be greater than `thinking.budget_tokens`/);
    const ok = await json(newSim(), {
      ...sonnet,
      thinking: { type: 'enabled', budget_tokens: 1024 },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.content[0].type).toBe('thinking');
  });
  it('rejects disabled on always-on models, with the per-model wording', async () => {
    const off = { thinking: { type: 'disabled' } };
    expect(await invalid({ ...base, ...off, model: 'claude-fable-5-1' })).toMatch(
      /^"thinking.type.disabled" is not supported for this model/,
    );
    expect(await invalid({ ...base, ...off, model: 'claude-sonnet-5-5' })).toMatch(
      /^To turn thinking off on this model, send "thinking": \{"type": "between_tools"\}/,
    );
    expect(await invalid({ ...base, thinking: { type: 'between_tools' } })).toBe(
      '"thinking.type.between_tools" is not supported for this model.',
    );
  });
  it('allows disabled on Opus 5 and Haiku 5.5 only up to effort high', async () => {
    for (const model of ['claude-opus-5', 'claude-haiku-5-5']) {
      const body = { ...base, model, thinking: { type: 'disabled' } };
      expect((await post(newSim(), { ...body, output_config: { effort: 'high' } })).status).toBe(
        200,
      );
      expect(await invalid({ ...body, output_config: { effort: 'max' } })).toBe(
        "output_config.effort 'max' is not supported when thinking is disabled on this model. Use effort 'high' or below, or enable thinking.",
      );
    }
  });
  it('validates display and effort values', async () => {
    expect(await invalid({ ...base, thinking: { type: 'adaptive', display: 'full' } })).toMatch(
      /^thinking\.adaptive\.display: /,
    );
    expect(await invalid({ ...base, thinking: { type: 'disabled', display: 'omitted' } })).toBe(
      'thinking.disabled.display: Extra inputs are not permitted',
    );
    expect(await invalid({ ...base, output_config: { effort: 'extreme' } })).toMatch(
      /^output_config\.effort: /,
    );
    expect(
      (await post(newSim(), { ...base, thinking: { type: 'adaptive', display: null } })).status,
    ).toBe(200);
  });
  it('needs the beta header for block_binding', async () => {
    const thinking = {
      type: 'adaptive',
      block_binding: { prefix_mismatch_behavior: 'drop_block' },
    };
    expect(await invalid({ ...base, thinking })).toBe(
      'thinking.block_binding: Extra inputs are not permitted',
    );
    const beta = { 'anthropic-beta': 'thinking-binding-controls-2026-08-01' };
    expect((await post(newSim(), { ...base, thinking }, beta)).status).toBe(200);
  });
});

describe('tool_choice and tool results', () => {
  const tools = [WEATHER_TOOL];
  it('rejects forced tool_choice with enabled thinking', async () => {
    expect(
      await invalid({
        ...base,
        model: 'claude-sonnet-4-5',
        tools,
        tool_choice: { type: 'any' },
        thinking: { type: 'enabled', budget_tokens: 2000 },
      }),
    ).toBe('Thinking may not be enabled when tool_choice forces tool use.');
  });
  it('rejects forced tool_choice outright on Opus 5.5, Fable 5.1/5.2, Mythos 5.1/5.2, Sonnet 5.5', async () => {
    for (const model of [
      'claude-opus-5-5',
      'claude-fable-5-2',
      'claude-mythos-5-1',
      'claude-sonnet-5-5',
    ])
      expect(await invalid({ ...base, model, tools, tool_choice: { type: 'any' } })).toBe(
        'tool_choice: type "tool" and "any" are not supported for this model.',
      );
    expect(
      (
        await post(newSim(), {
          ...base,
          model: 'claude-opus-5',
          tools,
          tool_choice: { type: 'any' },
        })
      ).status,
    ).toBe(200);
  });
  it('rejects tool_choice naming an unknown tool', async () => {
    expect(await invalid({ ...base, tools, tool_choice: { type: 'tool', name: 'nope' } })).toMatch(
      /nope/,
    );
  });
  it('requires tool_results for exactly the previous tool_use ids', async () => {
    const assistant = {
      role: 'assistant',
      content: [
        { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: {} },
        { type: 'tool_use', id: 'toolu_b', name: 'get_weather', input: {} },
      ],
    };
    const result = (id: string) => ({ type: 'tool_result', tool_use_id: id, content: 'ok' });
    const body = (content: unknown[]) => ({
      ...base,
      tools,
      messages: [user('x'), assistant, { role: 'user', content }],
    });
    expect(await invalid(body([result('toolu_a')]))).toMatch(
      /^messages\.1: tool_use ids were found without tool_result blocks immediately after: toolu_b/,
    );
    expect(await invalid(body([result('toolu_a'), result('toolu_b'), result('toolu_c')]))).toMatch(
      /^messages\.2\.content\.2: unexpected `tool_use_id` found in `tool_result` blocks: toolu_c/,
    );
    expect(
      await invalid({ ...base, messages: [user('x'), assistant, user('no results')] }),
    ).toMatch(/tool_use ids were found without tool_result blocks/);
    // hand-written history without thinking is accepted
    expect((await post(newSim(), body([result('toolu_b'), result('toolu_a')]))).status).toBe(200);
  });
});
