import { describe, expect, it } from 'vitest';
import { cached, EPHEMERAL, EPHEMERAL_1H, longText, turn, type Turn } from './cache-helpers';
import { expectError, newSim, WEATHER_TOOL, type Block, type Sim } from './helpers';

const SYSTEM = longText(1200);
const base = {
  model: 'claude-opus-4-8',
  max_tokens: 4000,
  thinking: { type: 'adaptive', display: 'omitted' },
  output_config: { effort: 'high' },
  system: SYSTEM,
  cache_control: EPHEMERAL,
};
const user = (content: unknown) => ({ role: 'user', content });
const since = (id: string | null) => ({ diagnostics: { previous_message_id: id } });

/** A first turn with diagnostics opted in, and the body that correctly continues it. */
async function firstTurn(sim: Sim, extra: Record<string, unknown> = {}) {
  const body = { ...base, ...extra, messages: [user('What is a tide?')], ...since(null) };
  const first = await turn(sim, body);
  const next = (messages: unknown[] = continued(first)) => ({
    ...body,
    messages,
    ...since(first.id),
  });
  const { read, creation } = cached(first.usage);
  return { first, body, next, cachedTokens: read + creation };
}

/** Thinking blocks are bound to their prefix: a request that changes it must drop them. */
const unthought = (t: Turn) => t.content.filter((b: Block) => b.type !== 'thinking');

const continued = (first: Turn, content: Block[] = first.content) => [
  user('What is a tide?'),
  { role: 'assistant', content },
  user('And a spring tide?'),
];

describe('diagnostics.cache_miss_reason', () => {
  it('is null without diagnostics, when opting in with null, and for a faithful continuation', async () => {
    const sim = newSim();
    const plain = await turn(sim, { ...base, messages: [user('Hi')] });
    expect(plain.diagnostics).toBeNull();
    const { first, body, next } = await firstTurn(sim);
    expect(first.diagnostics).toBeNull();
    const second = await turn(sim, next(), 'stream');
    expect(second.diagnostics).toBeNull();
    expect(cached(second.usage).read).toBeGreaterThan(0);
    // A retry of the same request is no divergence either.
    expect((await turn(sim, { ...body, ...since(first.id) })).diagnostics).toBeNull();
  });

  it('previous_message_not_found for an id this simulator never issued', async () => {
    const sim = newSim();
    const t = await turn(sim, { ...base, messages: [user('Hi')], ...since('msg_01Unknown') });
    expect(t.diagnostics).toEqual({ cache_miss_reason: { type: 'previous_message_not_found' } });
    const other = await turn(newSim(), { ...base, messages: [user('Hi')] });
    const s = await turn(sim, { ...base, messages: [user('Hi')], ...since(other.id) }, 'stream');
    expect(s.diagnostics).toEqual({ cache_miss_reason: { type: 'previous_message_not_found' } });
  });

  it.each<[string, Record<string, unknown>]>([
    ['model_changed', { model: 'claude-opus-4-7' }],
    ['tools_changed', { tools: [WEATHER_TOOL] }],
    ['system_changed', { system: SYSTEM.replace('Rules', 'Rulez') }],
  ])('%s, with the tokens that would have been read', async (type, change) => {
    const sim = newSim();
    const { first, next, cachedTokens } = await firstTurn(sim);
    expect(cachedTokens).toBeGreaterThan(1024);
    const t = await turn(sim, { ...next(continued(first, unthought(first))), ...change }, 'stream');
    expect(cached(t.usage).read).toBe(0);
    expect(t.diagnostics).toEqual({
      cache_miss_reason: { type, cache_missed_input_tokens: cachedTokens },
    });
  });

  it('model_changed when only the speed differs', async () => {
    const sim = newSim();
    const { next, cachedTokens } = await firstTurn(sim, { model: 'claude-opus-5-5' });
    const t = await turn(sim, { ...next(), speed: 'fast' });
    expect(t.diagnostics).toEqual({
      cache_miss_reason: { type: 'model_changed', cache_missed_input_tokens: cachedTokens },
    });
    expect(t.usage.speed).toBe('fast');
  });

  it('messages_changed when an earlier entry differs (edited question, dropped thinking, other answer, fewer messages)', async () => {
    const sim = newSim();
    const systemMarked = { system: [{ type: 'text', text: SYSTEM, cache_control: EPHEMERAL_1H }] };
    const { first, next, cachedTokens } = await firstTurn(sim, systemMarked);
    const systemTokens = first.usage.cache_creation.ephemeral_1h_input_tokens;
    expect(systemTokens).toBeGreaterThan(1024);

    const [, answer, question] = continued(first, unthought(first));
    // [messages, tokens still read]: an edited first question only keeps the system prompt;
    // a changed answer keeps everything the previous request had cached (nothing missed).
    const variants: [unknown[], number][] = [
      [[user('What is a tide, really?'), answer, question], systemTokens],
      [continued(first, unthought(first)), cachedTokens],
      [[user('What is a tide?'), { role: 'assistant', content: 'Other.' }, question], cachedTokens],
    ];
    for (const [messages, read] of variants) {
      const t = await turn(sim, next(messages));
      expect(cached(t.usage).read).toBe(read);
      expect(t.diagnostics).toEqual({
        cache_miss_reason: {
          type: 'messages_changed',
          cache_missed_input_tokens: cachedTokens - read,
        },
      });
    }

    // Dropping entries is a change too: the previous request had three messages.
    const second = await turn(sim, next());
    const { read, creation } = cached(second.usage);
    const truncated = await turn(sim, { ...next([user('What is a tide?')]), ...since(second.id) });
    expect(cached(truncated.usage).read).toBe(cachedTokens);
    expect(truncated.diagnostics).toEqual({
      cache_miss_reason: {
        type: 'messages_changed',
        cache_missed_input_tokens: read + creation - cachedTokens,
      },
    });
  });

  it('unavailable when only the thinking configuration or tool_choice differs', async () => {
    const sim = newSim();
    const { next } = await firstTurn(sim, { tools: [WEATHER_TOOL], tool_choice: { type: 'none' } });
    for (const change of [
      { output_config: { effort: 'low' } },
      { tool_choice: { type: 'auto' } },
    ]) {
      const t = await turn(sim, { ...next(), ...change });
      expect(t.diagnostics).toEqual({ cache_miss_reason: { type: 'unavailable' } });
    }
    expect((await turn(sim, next())).diagnostics).toBeNull();
  });

  it('validates diagnostics', async () => {
    const sim = newSim();
    const body = { ...base, messages: [user('Hi')] };
    const cases: [unknown, string][] = [
      [
        { previous_message_id: 'msg_1', extra: true },
        'diagnostics.extra: Extra inputs are not permitted',
      ],
      [
        { previous_message_id: 42 },
        'diagnostics.previous_message_id: Input should be a valid string',
      ],
      ['msg_1', 'diagnostics: Input should be a valid dictionary or object'],
    ];
    for (const [diagnostics, message] of cases) {
      const e = await expectError(sim, { ...body, diagnostics });
      expect([e.status, e.type, e.message]).toEqual([400, 'invalid_request_error', message]);
    }
  });
});
