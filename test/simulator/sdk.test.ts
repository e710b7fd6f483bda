// The simulator must be indistinguishable from the API for the official SDK (1.12.0).
import Anthropic, { APIError } from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { newSim, WEATHER_TOOL, type Sim } from './helpers';

const client = (sim: Sim, maxRetries = 0) =>
  new Anthropic({
    apiKey: 'sk-sim',
    baseURL: 'http://sim',
    maxRetries,
    fetch: (url: string | URL | Request, init?: RequestInit) => sim.fetch(new Request(url, init)),
  });

describe('with @anthropic-ai/sdk', () => {
  it('sends what the simulator expects (Bearer auth, 2026-10-21)', async () => {
    const sim = newSim({ apiKey: 'sk-sim' });
    await client(sim).messages.create({
      model: 'claude-sonnet-5',
      max_tokens: 1000,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(sim.requests[0]!.headers).toMatchObject({
      authorization: 'Bearer sk-sim',
      'anthropic-version': '2026-10-21',
    });
  });

  it('accumulates a streamed tool loop with MessageStream and replays it', async () => {
    const sim = newSim();
    const anthropic = client(sim);
    const params = {
      model: 'claude-opus-4-8',
      max_tokens: 4000,
      thinking: { type: 'adaptive', display: 'omitted' } as const,
      tools: [WEATHER_TOOL as Anthropic.Tool],
    };
    const messages: Anthropic.MessageParam[] = [
      { role: 'user', content: 'Weather? [sim:redacted]' },
    ];
    const first = await anthropic.messages.stream({ ...params, messages }).finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content.map((b) => b.type)).toEqual([
      'thinking',
      'redacted_thinking',
      'text',
      'tool_use',
    ]);
    const toolUse = first.content.at(-1) as Anthropic.ToolUseBlock;
    messages.push(
      { role: 'assistant', content: first.content as Anthropic.ContentBlockParam[] },
      {
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '21°C' }],
      },
    );
    const second = await anthropic.messages.stream({ ...params, messages }).finalMessage();
    expect(second.stop_reason).toBe('end_turn');
    expect((second.content.at(-1) as Anthropic.TextBlock).text).toContain('21°C');
    expect(second.usage.output_tokens_details?.thinking_tokens).toBeGreaterThan(0);
  });

  it('surfaces a mid-stream error as an overloaded APIError', async () => {
    const stream = await client(newSim()).messages.create({
      model: 'claude-opus-4-8',
      max_tokens: 100,
      stream: true,
      messages: [{ role: 'user', content: 'hi [sim:fail=midstream_error]' }],
    });
    const error = await (async () => {
      try {
        for await (const _event of stream);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).type).toBe('overloaded_error');
  });

  it('is retried by the SDK after overloaded_once', async () => {
    const sim = newSim();
    const message = await client(sim, 2).messages.create({
      model: 'claude-opus-4-8',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi [sim:fail=overloaded_once]' }],
    });
    expect(message.type).toBe('message');
    expect(sim.requests).toHaveLength(2);
  });
});
