import { describe, expect, it } from 'vitest';
import { accumulate, json, names, newSim, SEARCH_TOOL, stream, WEATHER_TOOL } from './helpers';

const base = {
  model: 'claude-opus-4-8',
  max_tokens: 4000,
  thinking: { type: 'adaptive', display: 'omitted' },
  messages: [{ role: 'user', content: 'What is a solar eclipse?' }],
};

describe('streaming, display omitted', () => {
  it('sends exactly the API event sequence', async () => {
    const { res, events } = await stream(newSim(), base);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('request-id')).toMatch(/^req_/);

    const textDeltas = events.filter((e) => e.data.delta?.type === 'text_delta').length;
    expect(textDeltas).toBeGreaterThan(2);
    expect(names(events)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      ...Array(textDeltas).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    // every event's data carries the matching type
    for (const e of events) expect(e.data.type).toBe(e.event);

    const [start, thinkingStart, , empty, signature, stop, textStart] = events;
    expect(start!.data.message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-opus-4-8',
      content: [],
      stop_reason: null,
      usage: { cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
    });
    expect(start!.data.message.id).toMatch(/^msg_/);
    expect(start!.data.message.usage.input_tokens).toBeGreaterThan(0);
    expect(thinkingStart!.data).toEqual({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'thinking', thinking: '', signature: '' },
    });
    expect(empty!.data.delta).toEqual({ type: 'thinking_delta', thinking: '' });
    expect(signature!.data.delta.type).toBe('signature_delta');
    expect(signature!.data.delta.signature.length).toBeGreaterThan(100);
    expect(stop!.data).toEqual({ type: 'content_block_stop', index: 0 });
    expect(textStart!.data.content_block).toEqual({ type: 'text', text: '' });

    const delta = events.at(-2)!.data;
    expect(delta.delta).toMatchObject({ stop_reason: 'end_turn', stop_sequence: null });
    const usage = delta.usage;
    expect(usage.input_tokens).toBe(start!.data.message.usage.input_tokens);
    expect(usage.output_tokens_details.thinking_tokens).toBeGreaterThan(0);
    expect(usage.output_tokens).toBeGreaterThan(usage.output_tokens_details.thinking_tokens);
    expect(usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });

  it('input tokens follow the JSON size of system + tools + messages', async () => {
    const body = { ...base, system: 'x'.repeat(400), tools: [WEATHER_TOOL] };
    const { events } = await stream(newSim(), body);
    const expected = Math.ceil(
      (JSON.stringify(body.system).length +
        JSON.stringify(body.tools).length +
        JSON.stringify(body.messages).length) /
        4,
    );
    expect(events[0]!.data.message.usage.input_tokens).toBe(expected);
  });

  it('echoes the user text (without directives) in word-chunked deltas', async () => {
    const { events } = await stream(newSim(), {
      ...base,
      messages: [{ role: 'user', content: 'Tell me about [sim:words=40] tides' }],
    });
    const text = accumulate(events).find((b) => b.type === 'text')!.text as string;
    expect(text.split(' ')).toHaveLength(40);
    expect(text.startsWith('You said: Tell me about tides.')).toBe(true);
    expect(text).not.toContain('[sim:');
  });

  it('puts [sim:delta_words=N] words in each text delta, the answer unchanged', async () => {
    const textDeltas = async (directives: string) => {
      const { events } = await stream(newSim(), {
        ...base,
        messages: [{ role: 'user', content: `Tell me about tides ${directives}` }],
      });
      return events
        .filter((e) => e.data.delta?.type === 'text_delta')
        .map((e) => e.data.delta.text as string);
    };
    const two = await textDeltas('[sim:words=60]');
    const six = await textDeltas('[sim:words=60] [sim:delta_words=6]');
    expect(two).toHaveLength(30);
    expect(six).toHaveLength(10);
    expect(six.every((d) => d.trim().split(/\s+/).length === 6)).toBe(true);
    expect(six.join('')).toBe(two.join(''));
  });

  it('omits the empty thinking_delta with [sim:no_empty_delta]', async () => {
    const { events } = await stream(newSim(), {
      ...base,
      messages: [{ role: 'user', content: 'hi [sim:no_empty_delta]' }],
    });
    expect(names(events).slice(0, 5)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_stop',
    ]);
    expect(events[3]!.data.delta.type).toBe('signature_delta');
  });

  it('streams summarized thinking as text deltas, an empty delta, then the signature', async () => {
    const { events } = await stream(newSim(), {
      ...base,
      model: 'claude-opus-4-6', // default display: summarized
      thinking: { type: 'adaptive' },
    });
    const block0 = events.filter((e) => e.data.index === 0 && e.event === 'content_block_delta');
    const thinkingDeltas = block0.filter((e) => e.data.delta.type === 'thinking_delta');
    expect(thinkingDeltas.length).toBeGreaterThanOrEqual(3);
    expect(thinkingDeltas.slice(0, -1).every((e) => e.data.delta.thinking !== '')).toBe(true);
    expect(thinkingDeltas.at(-1)!.data.delta.thinking).toBe('');
    expect(block0.at(-1)!.data.delta.type).toBe('signature_delta');
    expect(block0.filter((e) => e.data.delta.type === 'signature_delta')).toHaveLength(1);
    expect(accumulate(events)[0]!.thinking).toContain('solar eclipse');
  });

  it('thinks by default only where the model does', async () => {
    const { thinking: _omit, ...noThinking } = base;
    const off = accumulate((await stream(newSim(), noThinking)).events);
    expect(off.map((b) => b.type)).toEqual(['text']);
    const on = accumulate(
      (await stream(newSim(), { ...noThinking, model: 'claude-sonnet-5' })).events,
    );
    expect(on.map((b) => b.type)).toEqual(['thinking', 'text']);
    const none = accumulate(
      (
        await stream(newSim(), {
          ...base,
          messages: [{ role: 'user', content: 'hi [sim:no_thinking]' }],
        })
      ).events,
    );
    expect(none.map((b) => b.type)).toEqual(['text']);
  });

  it('emits the same content as the JSON form, deterministically', async () => {
    const body = {
      ...base,
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user', content: 'Weather in Paris? [sim:redacted]' }],
    };
    const streamed = accumulate((await stream(newSim(), body)).events);
    const { body: message } = await json(newSim(), body);
    expect(message.content).toEqual(streamed);
    expect(message.content[0]).toEqual({
      type: 'thinking',
      thinking: '',
      signature: expect.any(String),
    });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'tool_use' });
    expect(message.usage.output_tokens_details.thinking_tokens).toBeGreaterThan(0);
  });
});

describe('tool use', () => {
  const toolBody = {
    ...base,
    tools: [WEATHER_TOOL, SEARCH_TOOL],
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
  };

  it('calls the first tool with input synthesised from its schema', async () => {
    const { events } = await stream(newSim(), toolBody);
    const content = accumulate(events);
    expect(content.map((b) => b.type)).toEqual(['thinking', 'text', 'tool_use']);
    expect(content[2]).toMatchObject({
      name: 'get_weather',
      input: { location: 'example', days: 1, metric: true },
    });
    expect(content[2]!.id).toMatch(/^toolu_01[0-9A-Za-z]{22}$/);
    const jsonDeltas = events.filter((e) => e.data.delta?.type === 'input_json_delta');
    expect(jsonDeltas[0]!.data.delta.partial_json).toBe('');
    expect(jsonDeltas.length).toBeGreaterThan(2);
    expect(events.at(-2)!.data.delta.stop_reason).toBe('tool_use');
  });

  it('follows [sim:tool], [sim:parallel_tools] and [sim:thinking_blocks]', async () => {
    const { events } = await stream(newSim(), {
      ...toolBody,
      messages: [
        {
          role: 'user',
          content: 'go [sim:tool=search] [sim:parallel_tools=3] [sim:thinking_blocks=2]',
        },
      ],
    });
    const content = accumulate(events);
    expect(content.map((b) => b.type)).toEqual([
      'thinking',
      'text',
      'thinking',
      'tool_use',
      'tool_use',
      'tool_use',
    ]);
    const tools = content.filter((b) => b.type === 'tool_use');
    expect(tools.every((t) => t.name === 'search')).toBe(true);
    expect(new Set(tools.map((t) => t.id)).size).toBe(3);
    expect(content[0]!.signature).not.toBe(content[2]!.signature);
  });

  it('adds a redacted_thinking block after the first thinking block with [sim:redacted]', async () => {
    const { events } = await stream(newSim(), {
      ...base,
      messages: [{ role: 'user', content: 'hi [sim:redacted]' }],
    });
    const content = accumulate(events);
    expect(content.map((b) => b.type)).toEqual(['thinking', 'redacted_thinking', 'text']);
    expect(content[1]!.data.length).toBeGreaterThan(100);
    const redactedEvents = events.filter((e) => e.data.index === 1);
    expect(redactedEvents.map((e) => e.event)).toEqual([
      'content_block_start',
      'content_block_stop',
    ]);
  });

  it('starts with the tool_use and does not think when tool_choice forces a tool', async () => {
    const { events } = await stream(newSim(), {
      ...toolBody,
      model: 'claude-sonnet-5',
      tool_choice: { type: 'tool', name: 'search' },
    });
    const content = accumulate(events);
    expect(content.map((b) => b.type)).toEqual(['tool_use']);
    expect(content[0]!.name).toBe('search');
  });

  it('with between_tools (Sonnet 5.5) thinks only right before a tool call', async () => {
    const betweenTools = {
      ...toolBody,
      model: 'claude-sonnet-5-5',
      thinking: { type: 'between_tools' },
    };
    const withTool = accumulate((await stream(newSim(), betweenTools)).events);
    expect(withTool.map((b) => b.type)).toEqual(['text', 'thinking', 'tool_use']);
    expect(withTool[1]!.thinking).toBe('');
    const noTool = accumulate(
      (await stream(newSim(), { ...betweenTools, tools: undefined })).events,
    );
    expect(noTool.map((b) => b.type)).toEqual(['text']);
  });

  it('answers in text with tool_choice none', async () => {
    const content = accumulate(
      (await stream(newSim(), { ...toolBody, tool_choice: { type: 'none' } })).events,
    );
    expect(content.map((b) => b.type)).toEqual(['thinking', 'text']);
  });
});

describe('stop reasons and timing', () => {
  it('stops at a stop sequence', async () => {
    const { events } = await stream(newSim(), { ...base, stop_sequences: ['simulator'] });
    const text = accumulate(events)[1]!.text as string;
    expect(text).not.toContain('simulator');
    expect(events.at(-2)!.data.delta).toMatchObject({
      stop_reason: 'stop_sequence',
      stop_sequence: 'simulator',
    });
  });

  it('stops at max_tokens', async () => {
    const { events } = await stream(newSim(), {
      ...base,
      max_tokens: 60,
      messages: [{ role: 'user', content: 'long [sim:words=500]' }],
    });
    const last = events.at(-2)!.data;
    expect(last.delta.stop_reason).toBe('max_tokens');
    expect(last.usage.output_tokens).toBeLessThanOrEqual(60);
  });

  it('waits [sim:think_ms] inside the thinking block, with pings', async () => {
    const sim = newSim({ pingIntervalMs: 50 });
    const { events } = await stream(sim, {
      ...base,
      messages: [{ role: 'user', content: 'slow [sim:think_ms=260]' }],
    });
    const signatureAt = events.findIndex((e) => e.data.delta?.type === 'signature_delta');
    const before = events.slice(0, signatureAt);
    expect(before.filter((e) => e.event === 'ping').length).toBeGreaterThanOrEqual(5); // 1 + 5 while waiting
    expect(events[signatureAt]!.at - events[1]!.at).toBeGreaterThanOrEqual(240);
  });

  it('spaces text deltas by [sim:text_delay_ms]', async () => {
    const { events } = await stream(newSim(), {
      ...base,
      messages: [{ role: 'user', content: 'drip [sim:text_delay_ms=30] [sim:words=8]' }],
    });
    const text = events.filter((e) => e.data.delta?.type === 'text_delta');
    expect(text).toHaveLength(4);
    expect(text.at(-1)!.at - text[0]!.at).toBeGreaterThanOrEqual(80);
  });
});
