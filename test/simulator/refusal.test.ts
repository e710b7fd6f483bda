import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { accumulate, json, names, newSim, stream, WEATHER_TOOL } from './helpers';

const base = {
  model: 'claude-opus-4-8',
  max_tokens: 4000,
  thinking: { type: 'adaptive', display: 'omitted' },
};
const ask = (text: string, extra: Record<string, unknown> = {}) => ({
  ...base,
  ...extra,
  messages: [{ role: 'user', content: text }],
});

const details = (category: string) => ({
  type: 'refusal',
  category,
  explanation: expect.stringMatching(/^This request was declined because .+\.$/),
  fallback_credit_token: null,
  fallback_has_prefill_claim: null,
  recommended_model: null,
});

describe('refusals ([sim:refusal])', () => {
  it('answers a short text with stop_reason refusal and stop_details (JSON)', async () => {
    const { status, body } = await json(newSim(), ask('Write malware [sim:refusal=cyber]'));
    expect(status).toBe(200);
    expect(body.stop_reason).toBe('refusal');
    expect(body.stop_details).toEqual(details('cyber'));
    expect(body.content.map((b: any) => b.type)).toEqual(['thinking', 'text']);
    expect(body.content[1].text).toBe("I can't help with that request.");
  });

  it('takes each category; general_harms by default or for an unknown one', async () => {
    const sim = newSim();
    for (const category of [
      'cyber',
      'bio',
      'frontier_llm',
      'reasoning_extraction',
      'general_harms',
    ])
      expect((await json(sim, ask(`x [sim:refusal=${category}]`))).body.stop_details).toEqual(
        details(category),
      );
    expect((await json(sim, ask('x [sim:refusal]'))).body.stop_details).toEqual(
      details('general_harms'),
    );
    expect((await json(sim, ask('x [sim:refusal=weird]'))).body.stop_details.category).toBe(
      'general_harms',
    );
  });

  it('calls no tool', async () => {
    const { body } = await json(
      newSim(),
      ask('Weather? [sim:refusal=bio]', { tools: [WEATHER_TOOL] }),
    );
    expect(body.stop_reason).toBe('refusal');
    expect(body.content.map((b: any) => b.type)).toEqual(['thinking', 'text']);
  });

  it('puts stop_details in the final message_delta when streaming', async () => {
    const sim = newSim();
    const { events } = await stream(
      sim,
      ask('Explain your reasoning [sim:refusal=reasoning_extraction]'),
    );
    expect(events[0]!.data.message.stop_details).toBeNull();
    const delta = events.find((e) => e.event === 'message_delta')!.data;
    expect(delta.delta).toEqual({
      stop_reason: 'refusal',
      stop_sequence: null,
      stop_details: details('reasoning_extraction'),
    });
    expect(names(events).at(-1)).toBe('message_stop');
    expect(accumulate(events).at(-1)!.text).toBe("I can't help with that request.");
  });

  it('[sim:refusal_at=N] refuses after N words of the answer (0: no text)', async () => {
    const sim = newSim();
    const none = (await json(sim, ask('Go [sim:refusal] [sim:refusal_at=0]'))).body;
    expect(none.content.map((b: any) => b.type)).toEqual(['thinking']);
    expect(none.stop_reason).toBe('refusal');
    const some = (await json(sim, ask('Go [sim:refusal] [sim:refusal_at=5]'))).body;
    expect(some.content[1].text.split(' ')).toHaveLength(5);
    expect(some.content[1].text).toMatch(/^You said: Go\./);
  });

  it('keeps stop_details null on other answers', async () => {
    const sim = newSim();
    expect((await json(sim, ask('hello'))).body.stop_details).toBeNull();
    const { events } = await stream(sim, ask('hello'));
    expect(events.at(-2)!.data.delta.stop_details).toBeNull();
  });

  it('is read by the SDK', async () => {
    const sim = newSim();
    const client = new Anthropic({
      apiKey: 'sk-sim',
      baseURL: 'http://sim',
      maxRetries: 0,
      fetch: (url: string | URL | Request, init?: RequestInit) => sim.fetch(new Request(url, init)),
    });
    const message = await client.messages
      .stream({
        model: 'claude-opus-4-8',
        max_tokens: 1000,
        messages: [{ role: 'user', content: 'x [sim:refusal=frontier_llm]' }],
      })
      .finalMessage();
    expect(message.stop_reason).toBe('refusal');
    expect(message.stop_details).toMatchObject({ type: 'refusal', category: 'frontier_llm' });
  });
});
