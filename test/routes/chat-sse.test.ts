import { describe, expect, it } from 'vitest';
import { call, chat, createKey } from '../helpers/api';
import { readEventStream } from '../helpers/sse';

describe('POST /v1/chat as SSE', () => {
  it('numbers the events of a later turn <turn>:0, <turn>:1, …', async () => {
    const { key } = await createKey();
    const first = (await (await chat(key, { message: 'one' })).json()) as any;
    const res = await chat(key, {
      conversation_id: first.conversation_id,
      message: 'two',
      stream: true,
    });
    const { events } = await readEventStream(res);
    expect(events[0]).toMatchObject({ id: '2:0', event: 'conversation', data: { turn: 2 } });
    expect(events.at(-1)!.id).toBe(`2:${events.length - 1}`);
  });

  it('streams conversation, status, text and done events, each with an id', async () => {
    const { key } = await createKey();
    const res = await chat(key, { message: 'Tell me about tides', stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const { events } = await readEventStream(res);
    const names = events.map((e) => e.event);
    expect(names[0]).toBe('conversation');
    expect(names.slice(1, 3)).toEqual(['status', 'status']);
    expect(events[1]!.data).toEqual({ phase: 'thinking' });
    expect(events[2]!.data).toEqual({ phase: 'answering' });
    expect(names.at(-1)).toBe('done');
    expect(names.filter((n) => n === 'text').length).toBeGreaterThan(1);
    // Ids are <turn>:<seq>, counting the turn's events from 0 without gaps.
    expect(events.map((e) => e.id)).toEqual(events.map((_, seq) => `1:${seq}`));
    expect(events[0]!.data).toEqual({ conversation_id: expect.stringMatching(/^c_/), turn: 1 });
    expect(events.at(-1)!.data).toMatchObject({
      stop_reason: 'end_turn',
      turn: 1,
      usage: { output_tokens: expect.any(Number) },
    });
    const text = events
      .filter((e) => e.event === 'text')
      .map((e) => e.data.text)
      .join('');
    expect(text).toContain('Tell me about tides');
  });

  it('answers with SSE when the client sends Accept: text/event-stream', async () => {
    const { key } = await createKey();
    const res = await chat(key, { message: 'hi' }, { accept: 'text/event-stream' });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const { events } = await readEventStream(res);
    expect(events.at(-1)!.event).toBe('done');
  });

  it('sends the conversation event before Claude answers, and pings while Claude thinks', async () => {
    const { key } = await createKey();
    const started = Date.now();
    const res = await chat(key, { message: 'slow one [sim:think_ms=3000]', stream: true });
    const { events, comments } = await readEventStream(res);
    const first = events[0]!;
    const firstText = events.find((e) => e.event === 'text')!;
    expect(first.event).toBe('conversation');
    expect(first.at - started).toBeLessThan(firstText.at - started);
    expect(firstText.at - first.at).toBeGreaterThanOrEqual(1000);
    // SSE_PING_INTERVAL_MS is 300 in the tests: several pings during 3 s of silence.
    expect(comments.filter((c) => c === 'ping').length).toBeGreaterThanOrEqual(2);
  });

  it('stores the turn before done, so the transcript shows it as soon as done arrives', async () => {
    const { key } = await createKey();
    const { events } = await readEventStream(
      await chat(key, { message: 'store me', stream: true }),
    );
    const id = events[0]!.data.conversation_id;
    const transcript = (await (
      await call(`/v1/conversations/${id}`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as any;
    expect(transcript.turns).toBe(1);
    expect(transcript.messages.map((m: any) => m.role)).toEqual(['user', 'assistant']);
  });

  it('ends with an error event carrying the upstream type on a mid-stream error, and stores nothing of the turn', async () => {
    const { key } = await createKey();
    const first = (await (await chat(key, { message: 'good turn' })).json()) as any;
    const res = await chat(key, {
      conversation_id: first.conversation_id,
      message: 'bad [sim:fail=midstream_error]',
      stream: true,
    });
    const { events } = await readEventStream(res);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { type: 'overloaded_error' } });
    expect(events.some((e) => e.event === 'done')).toBe(false);
    const transcript = (await (
      await call(`/v1/conversations/${first.conversation_id}`, {
        headers: { authorization: `Bearer ${key}` },
      })
    ).json()) as any;
    expect(transcript.turns).toBe(1);
    expect(transcript.messages).toHaveLength(2);
  });

  it('ends with an api_error event when the upstream connection drops, keeping the last good state', async () => {
    const { key } = await createKey();
    const res = await chat(key, { message: 'drop [sim:fail=drop]', stream: true });
    const { events } = await readEventStream(res);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { type: 'api_error' } });
    const id = events[0]!.data.conversation_id;
    const transcript = (await (
      await call(`/v1/conversations/${id}`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as any;
    expect(transcript.turns).toBe(0);
    expect(transcript.messages).toEqual([]);
    // The id from the conversation event stays usable for a retry.
    const retry = await chat(key, { conversation_id: id, message: 'again' });
    expect(((await retry.json()) as any).turn).toBe(1);
  });

  it('answers a forced tool call stream with a tool_use event', async () => {
    const { key } = await createKey();
    const res = await chat(key, {
      message: 'weather in Oslo',
      tools: [
        {
          name: 'get_weather',
          input_schema: {
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
          },
        },
      ],
      tool_choice: { type: 'tool', name: 'get_weather' },
      model: 'claude-opus-4-8',
      stream: true,
    });
    const { events } = await readEventStream(res);
    const tool = events.find((e) => e.event === 'tool_use');
    expect(tool?.data).toEqual({
      id: expect.stringMatching(/^toolu_/),
      name: 'get_weather',
      input: { city: expect.any(String) },
    });
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { stop_reason: 'tool_use' } });
  });
});
