import { describe, expect, it } from 'vitest';
import { SseStream } from '../../src/conversation/sse';
import { parseSse } from '../helpers/sse';

async function chunks(stream: ReadableStream<Uint8Array>) {
  const out: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of stream) out.push(decoder.decode(chunk));
  return out;
}

const usage = {
  input_tokens: 1,
  output_tokens: 2,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
};

describe('SseStream', () => {
  it('gives a waiting reader each synchronous pass of events as one chunk, at once', async () => {
    const sse = new SseStream(7, 60_000);
    const reader = sse.readable.getReader();
    const decoder = new TextDecoder();
    const first = reader.read(); // the client is waiting
    sse.send({ event: 'status', data: { phase: 'answering' } });
    sse.send({ event: 'text', data: { text: 'Hello' } });
    sse.send({ event: 'text', data: { text: ', world' } });
    const chunk = await first;
    expect(parseSse(decoder.decode(chunk.value)).map((e) => [e.id, e.event, e.data])).toEqual([
      ['7:0', 'status', { phase: 'answering' }],
      ['7:1', 'text', { text: 'Hello' }],
      ['7:2', 'text', { text: ', world' }],
    ]);
    const second = reader.read();
    sse.send({ event: 'done', data: { stop_reason: 'end_turn', usage, turn: 1 } });
    expect(parseSse(decoder.decode((await second).value))).toEqual([
      { id: '7:3', event: 'done', data: { stop_reason: 'end_turn', usage, turn: 1 } },
    ]);
    sse.close();
    expect((await reader.read()).done).toBe(true);
  });

  it('hands a reader that fell behind everything since its last read in one chunk', async () => {
    const sse = new SseStream(7, 60_000);
    for (let i = 0; i < 5; i++) {
      sse.send({ event: 'text', data: { text: `t${i}` } });
      await new Promise((r) => setTimeout(r, 1)); // separate passes, nobody reading
    }
    const reader = sse.readable.getReader();
    const { value } = await reader.read();
    const events = parseSse(new TextDecoder().decode(value));
    expect(events.map((e) => e.data)).toEqual([0, 1, 2, 3, 4].map((i) => ({ text: `t${i}` })));
    expect(events.map((e) => e.id)).toEqual(['7:0', '7:1', '7:2', '7:3', '7:4']);
  });

  it('writes an event sent just before close, and nothing after it', async () => {
    const sse = new SseStream(7, 60_000);
    sse.send({ event: 'error', data: { type: 'api_error', message: 'x' } });
    sse.close();
    sse.send({ event: 'text', data: { text: 'late' } });
    const events = parseSse((await chunks(sse.readable)).join(''));
    expect(events.map((e) => e.event)).toEqual(['error']);
  });

  it('pings after the quiet interval', async () => {
    const sse = new SseStream(1, 40);
    await new Promise((r) => setTimeout(r, 120));
    sse.close();
    expect((await chunks(sse.readable)).join('')).toContain(': ping\n\n');
  });
});
