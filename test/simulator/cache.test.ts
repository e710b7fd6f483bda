import { describe, expect, it } from 'vitest';
import {
  cached,
  EPHEMERAL,
  EPHEMERAL_1H,
  longText,
  promptTokens,
  turn,
  type Turn,
} from './cache-helpers';
import { expectError, newSim, toolResultsFor, WEATHER_TOOL, type Block } from './helpers';

const SYSTEM = longText(1500);
const base = {
  model: 'claude-opus-4-8',
  max_tokens: 4000,
  thinking: { type: 'adaptive', display: 'omitted' },
  system: SYSTEM,
  cache_control: EPHEMERAL,
};
const user = (content: unknown) => ({ role: 'user', content });
const text = (t: string, extra: Record<string, unknown> = {}) => ({
  type: 'text',
  text: t,
  ...extra,
});

/** Exact accounting every answer must satisfy. */
function expectConsistent(t: Turn, body: Record<string, unknown>) {
  const u = cached(t.usage);
  expect(u.read + u.creation + u.input).toBe(promptTokens(body));
  expect(t.usage.cache_creation.ephemeral_5m_input_tokens).toBeGreaterThanOrEqual(0);
  expect(
    t.usage.cache_creation.ephemeral_5m_input_tokens +
      t.usage.cache_creation.ephemeral_1h_input_tokens,
  ).toBe(u.creation);
  if (t.delta) expect(cached(t.delta)).toEqual(u);
  return u;
}

describe('prompt caching: a growing conversation', () => {
  it('reads turns 1..N from cache on turn N+1 with a top-level breakpoint (streamed and JSON)', async () => {
    const sim = newSim();
    const questions = ['What is a tide?', 'Why two a day?', 'What are spring tides?', 'Neap?'];
    let messages: unknown[] = [];
    let previous: ReturnType<typeof cached> | undefined;
    const reads: number[] = [];
    for (const [n, q] of questions.entries()) {
      messages = [...messages, user(q)];
      const body = { ...base, messages };
      const t = await turn(sim, body, n % 2 === 0 ? 'stream' : 'json');
      const u = expectConsistent(t, body);
      expect(t.usage.cache_creation).toEqual({
        ephemeral_5m_input_tokens: u.creation,
        ephemeral_1h_input_tokens: 0,
      });
      expect(t.usage.service_tier).toBe('standard');
      // The breakpoint is the last block: only the closing bracket is left uncached.
      expect(u.input).toBeLessThanOrEqual(1);
      if (!previous) {
        expect(u.read).toBe(0);
        expect(u.creation).toBeGreaterThanOrEqual(1024);
      } else {
        expect(u.read).toBe(previous.read + previous.creation);
        expect(u.creation).toBeGreaterThan(0);
      }
      reads.push(u.read);
      previous = u;
      messages = [...messages, { role: 'assistant', content: t.content }];
    }
    expect(reads.every((r, i) => i === 0 || r > reads[i - 1]!)).toBe(true);
  });

  it('caches nothing without a breakpoint', async () => {
    const sim = newSim();
    const { cache_control: _none, ...body } = { ...base, messages: [user('Hello there')] };
    for (let i = 0; i < 2; i++) {
      const t = await turn(sim, body);
      expect(cached(t.usage)).toEqual({ read: 0, creation: 0, input: promptTokens(body) });
      expect(t.usage.cache_creation).toEqual({
        ephemeral_5m_input_tokens: 0,
        ephemeral_1h_input_tokens: 0,
      });
    }
  });

  it('continues a tool loop from cache with the breakpoint on the tool_result (or inside it)', async () => {
    for (const inner of [false, true]) {
      const sim = newSim();
      const ask = user([text('Weather in Paris?', { cache_control: EPHEMERAL })]);
      const body1 = { ...base, cache_control: undefined, tools: [WEATHER_TOOL], messages: [ask] };
      const first = await turn(sim, body1);
      const u1 = expectConsistent(first, body1);
      expect(u1.creation).toBeGreaterThan(1024);
      const results = toolResultsFor(first.content).map((r) =>
        inner
          ? { ...r, content: [text(r.content, { cache_control: EPHEMERAL })] }
          : { ...r, cache_control: EPHEMERAL },
      );
      const body2 = {
        ...body1,
        messages: [
          user([text('Weather in Paris?')]),
          { role: 'assistant', content: first.content },
          user(results),
        ],
      };
      const second = await turn(sim, body2);
      const u2 = expectConsistent(second, body2);
      expect(u2.read).toBe(u1.read + u1.creation);
      expect(u2.creation).toBeGreaterThan(0);
    }
  });
});

describe('prompt caching: what misses', () => {
  it('a changed byte of the system prompt misses everything after it', async () => {
    const sim = newSim();
    const body = { ...base, messages: [user('Hello')] };
    const first = expectConsistent(await turn(sim, body), body);
    const again = expectConsistent(await turn(sim, body), body);
    expect(again).toMatchObject({ read: first.creation, creation: 0 });

    const changed = { ...body, system: SYSTEM.replace('Rules', 'Rulez') };
    const miss = expectConsistent(await turn(sim, changed), changed);
    expect(miss).toMatchObject({ read: 0, creation: first.creation });
  });

  it('a changed message misses from there on, while the system breakpoint still reads', async () => {
    const sim = newSim();
    const body = {
      ...base,
      system: [text(SYSTEM, { cache_control: EPHEMERAL_1H })],
      messages: [user('Hello')],
    };
    const first = await turn(sim, body);
    const u1 = expectConsistent(first, body);
    const systemTokens = first.usage.cache_creation.ephemeral_1h_input_tokens;
    expect(systemTokens).toBeGreaterThan(1024);
    expect(first.usage.cache_creation.ephemeral_5m_input_tokens).toBe(u1.creation - systemTokens);

    const other = { ...body, messages: [user('Hellx')] };
    const second = await turn(sim, other);
    const u2 = expectConsistent(second, other);
    expect(u2).toMatchObject({ read: systemTokens, creation: u1.creation - systemTokens });
    expect(second.usage.cache_creation).toEqual({
      ephemeral_5m_input_tokens: u2.creation,
      ephemeral_1h_input_tokens: 0,
    });
  });

  const thinkingBody = {
    model: 'claude-opus-4-8',
    max_tokens: 4000,
    tools: [WEATHER_TOOL],
    system: [text(SYSTEM, { cache_control: EPHEMERAL_1H })],
    thinking: { type: 'adaptive', display: 'omitted' },
    output_config: { effort: 'high' },
    cache_control: EPHEMERAL,
    messages: [user('Tell me about the weather in general.')],
  };

  const opus46 = { model: 'claude-opus-4-6', thinking: { type: 'enabled', budget_tokens: 2000 } };
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['effort', { output_config: { effort: 'low' } }, {}],
    ['thinking type', { thinking: { type: 'disabled' } }, {}],
    ['budget_tokens', { thinking: { type: 'enabled', budget_tokens: 3000 } }, opus46],
    ['tool_choice', { tool_choice: { type: 'none' } }, {}],
  ])('changing %s keeps tools + system read but misses the messages', async (_, change, start) => {
    const sim = newSim();
    const body1 = { ...thinkingBody, ...start };
    const first = await turn(sim, body1);
    const u1 = expectConsistent(first, body1);
    const head = first.usage.cache_creation.ephemeral_1h_input_tokens;
    expect(head).toBeGreaterThan(1024);

    const body2 = { ...body1, ...change };
    const u2 = expectConsistent(await turn(sim, body2), body2);
    expect(u2).toMatchObject({ read: head, creation: u1.creation - head });
    // Back to the first configuration: everything is still cached.
    const u3 = expectConsistent(await turn(sim, body1), body1);
    expect(u3).toMatchObject({ read: u1.creation, creation: 0 });
  });

  it('changing only the thinking display does not miss', async () => {
    const sim = newSim();
    const u1 = cached((await turn(sim, thinkingBody)).usage);
    const body2 = { ...thinkingBody, thinking: { type: 'adaptive', display: 'summarized' } };
    expect(cached((await turn(sim, body2)).usage)).toMatchObject({
      read: u1.creation,
      creation: 0,
    });
  });

  it('the model is part of every cache key', async () => {
    const sim = newSim();
    const body = { ...base, messages: [user('Hello')] };
    const u1 = cached((await turn(sim, body)).usage);
    const other = { ...body, model: 'claude-opus-4-7' };
    expect(cached((await turn(sim, other)).usage)).toMatchObject({
      read: 0,
      creation: u1.creation,
    });
  });

  it('ignores formatting: key order, moved markers', async () => {
    const sim = newSim();
    const body1 = {
      ...base,
      cache_control: undefined,
      system: [text(SYSTEM, { cache_control: EPHEMERAL })],
      messages: [user([text('Hello', { cache_control: EPHEMERAL })])],
    };
    const u1 = expectConsistent(await turn(sim, body1), body1);
    const body2 = {
      ...base,
      system: [{ cache_control: EPHEMERAL, text: SYSTEM, type: 'text' }],
      messages: [{ content: [{ text: 'Hello', type: 'text' }], role: 'user' }],
    };
    const u2 = expectConsistent(await turn(sim, body2), body2);
    expect(u2).toMatchObject({ read: u1.creation, creation: 0 });
  });

  it('a string content is the same prefix as one text block', async () => {
    const sim = newSim();
    await turn(sim, { ...base, messages: [user('Hello')] });
    const asBlock = { ...base, messages: [user([text('Hello')])] };
    const u = expectConsistent(await turn(sim, asBlock), asBlock);
    expect(u.read).toBeGreaterThan(1024);
    expect(u.creation).toBe(0);
  });

  it('ignores the text of an omitted thinking block', async () => {
    const sim = newSim();
    const first = await turn(sim, { ...base, messages: [user('One?')] });
    const history = [user('One?'), { role: 'assistant', content: first.content }, user('Two?')];
    const second = await turn(sim, { ...base, messages: history });
    const u2 = cached(second.usage);
    const thought = first.content.map((b: Block) =>
      b.type === 'thinking' ? { ...b, thinking: 'text the API never showed' } : b,
    );
    expect(first.content[0]!.type).toBe('thinking');
    const body3 = {
      ...base,
      messages: [
        ...history.slice(0, 1),
        { role: 'assistant', content: thought },
        history[2],
        { role: 'assistant', content: second.content },
        user('Three?'),
      ],
    };
    const u3 = expectConsistent(await turn(sim, body3), body3);
    // The hit is at the end of turn 2 (the thinking text adds characters, never a miss).
    expect(u3.read).toBeGreaterThanOrEqual(u2.read + u2.creation);
  });
});

describe('prompt caching: lookback, minimum, expiry', () => {
  /** One user message of `n` short text blocks after the long system prompt. */
  const blocks = (n: number, markLast: boolean) =>
    Array.from({ length: n }, (_, i) =>
      text(`part ${i}`, markLast && i === n - 1 ? { cache_control: EPHEMERAL } : {}),
    );

  it.each([
    [20, true],
    [21, false],
  ])('finds a cached prefix %i blocks before the breakpoint: %s', async (further, hit) => {
    const sim = newSim();
    const body1 = { ...base, cache_control: undefined, messages: [user(blocks(3, true))] };
    const u1 = expectConsistent(await turn(sim, body1), body1);
    const longer = [...blocks(3, false), ...blocks(3 + further, true).slice(3)];
    const body2 = { ...body1, messages: [user(longer)] };
    const u2 = expectConsistent(await turn(sim, body2), body2);
    expect(u2.read).toBe(hit ? u1.creation : 0);
  });

  it('a read through the lookback refreshes the entry it read', async () => {
    let now = 0;
    const sim = newSim({ clock: () => now });
    const short = { ...base, cache_control: undefined, messages: [user(blocks(3, true))] };
    const longer = { ...short, messages: [user(blocks(5, true))] };
    const created = cached((await turn(sim, short)).usage).creation;
    now += 4 * 60_000;
    expect(cached((await turn(sim, longer)).usage).read).toBe(created);
    now += 4 * 60_000; // 8 minutes after `short` was written, 4 after it was read
    expect(cached((await turn(sim, short)).usage)).toMatchObject({ read: created, creation: 0 });
  });

  it('never caches a prefix below the minimum, and honours minCacheTokens', async () => {
    const small = {
      model: 'claude-opus-4-8',
      max_tokens: 2000,
      cache_control: EPHEMERAL,
      messages: [user('A short question about tides.')],
    };
    const total = promptTokens(small);
    const byDefault = newSim();
    for (let i = 0; i < 2; i++)
      expect(cached((await turn(byDefault, small)).usage)).toEqual({
        read: 0,
        creation: 0,
        input: total,
      });

    const prefix = cached((await turn(newSim({ minCacheTokens: 1 }), small)).usage).creation;
    expect(prefix).toBeGreaterThan(0);
    const atMinimum = newSim({ minCacheTokens: prefix });
    expect(cached((await turn(atMinimum, small)).usage).creation).toBe(prefix);
    expect(cached((await turn(atMinimum, small)).usage).read).toBe(prefix);
    const aboveIt = newSim({ minCacheTokens: prefix + 1 });
    await turn(aboveIt, small);
    expect(cached((await turn(aboveIt, small)).usage)).toEqual({
      read: 0,
      creation: 0,
      input: total,
    });
  });

  it('expires 5m entries after 5 minutes and 1h entries after an hour; reads refresh', async () => {
    let now = 1_000_000;
    const sim = newSim({ clock: () => now });
    const body5m = { ...base, messages: [user('five')] };
    const body1h = { ...base, cache_control: EPHEMERAL_1H, messages: [user('hour')] };
    const created5m = cached((await turn(sim, body5m)).usage).creation;
    const created1h = cached((await turn(sim, body1h)).usage).creation;
    expect((await turn(sim, body1h)).usage.cache_creation.ephemeral_1h_input_tokens).toBe(0);

    now += 4 * 60_000; // a read at 4 min refreshes the 5m entry
    expect(cached((await turn(sim, body5m)).usage).read).toBe(created5m);
    now += 4 * 60_000;
    expect(cached((await turn(sim, body5m)).usage).read).toBe(created5m);
    now += 5 * 60_000 + 1;
    expect(cached((await turn(sim, body5m)).usage)).toMatchObject({ read: 0, creation: created5m });

    now += 40 * 60_000; // 53 minutes after the last 1h read
    expect(cached((await turn(sim, body1h)).usage).read).toBe(created1h);
    now += 60 * 60_000 + 1;
    expect(cached((await turn(sim, body1h)).usage).read).toBe(0);
  });
});

describe('cache_control validation', () => {
  const marked = (n: number) => ({
    model: 'claude-opus-4-8',
    max_tokens: 1000,
    messages: [
      user(Array.from({ length: n }, (_, i) => text(`b${i}`, { cache_control: EPHEMERAL }))),
    ],
  });

  it('accepts 4 breakpoints and refuses a fifth (the top-level one counts)', async () => {
    const sim = newSim();
    expect((await turn(sim, marked(4))).usage).toBeDefined();
    for (const body of [marked(5), { ...marked(4), cache_control: EPHEMERAL }]) {
      const e = await expectError(sim, body);
      expect([e.status, e.type, e.message]).toEqual([
        400,
        'invalid_request_error',
        'A maximum of 4 blocks with cache_control may be provided. Found 5.',
      ]);
    }
    const spread = {
      ...marked(1),
      tools: [{ ...WEATHER_TOOL, cache_control: EPHEMERAL_1H }],
      system: [text('a', { cache_control: EPHEMERAL }), text('b', { cache_control: EPHEMERAL })],
      cache_control: EPHEMERAL,
    };
    expect((await expectError(sim, spread)).message).toMatch(/Found 5\.$/);
  });

  const ORDER =
    "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. Note that blocks are processed in the following order: `tools`, `system`, `messages`.";

  it.each([
    [
      'messages.0.content.1.cache_control.ttl',
      {
        system: [text('s', { cache_control: EPHEMERAL })],
        messages: [user([text('a'), text('b', { cache_control: EPHEMERAL_1H })])],
      },
    ],
    [
      'system.0.cache_control.ttl',
      {
        tools: [{ ...WEATHER_TOOL, cache_control: EPHEMERAL }],
        system: [text('s', { cache_control: EPHEMERAL_1H })],
      },
    ],
    [
      'cache_control.ttl',
      { system: [text('s', { cache_control: EPHEMERAL })], cache_control: EPHEMERAL_1H },
    ],
  ])('refuses a 1h breakpoint after a 5m one (%s)', async (path, extra) => {
    const body = { model: 'claude-opus-4-8', max_tokens: 1000, messages: [user('hi')], ...extra };
    const e = await expectError(newSim(), body);
    expect([e.status, e.message]).toEqual([400, `${path}: ${ORDER}`]);
  });

  it('accepts 1h before 5m', async () => {
    const body = {
      model: 'claude-opus-4-8',
      max_tokens: 1000,
      tools: [{ ...WEATHER_TOOL, cache_control: EPHEMERAL_1H }],
      system: [text('s', { cache_control: EPHEMERAL_1H })],
      messages: [user('hi')],
      cache_control: EPHEMERAL,
    };
    expect((await turn(newSim(), body)).usage.input_tokens).toBeGreaterThan(0);
  });

  it('refuses an unknown ttl or type, and markers on thinking blocks', async () => {
    const sim = newSim();
    const ttl = await expectError(sim, {
      model: 'claude-opus-4-8',
      max_tokens: 1000,
      tools: [{ ...WEATHER_TOOL, cache_control: { type: 'ephemeral', ttl: '10m' } }],
      messages: [user('hi')],
    });
    expect([ttl.status, ttl.message]).toEqual([
      400,
      "tools.0.cache_control.ephemeral.ttl: Input should be '5m' or '1h'",
    ]);
    const type = await expectError(sim, {
      model: 'claude-opus-4-8',
      max_tokens: 1000,
      cache_control: { type: 'persistent' },
      messages: [user('hi')],
    });
    expect([type.status, type.message]).toEqual([
      400,
      "cache_control.type: Input tag 'persistent' found using 'type' does not match any of the expected tags: 'ephemeral'",
    ]);

    const body = { ...base, messages: [user('Hello')] };
    const first = await turn(sim, body);
    const content = first.content.map((b: Block) =>
      b.type === 'thinking' ? { ...b, cache_control: EPHEMERAL } : b,
    );
    const e = await expectError(sim, {
      ...body,
      messages: [user('Hello'), { role: 'assistant', content }, user('More')],
    });
    expect([e.status, e.message]).toEqual([
      400,
      'messages.1.content.0.thinking.cache_control: Extra inputs are not permitted',
    ]);
  });
});
