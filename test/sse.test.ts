import { describe, expect, it } from 'vitest';
import { SseStream } from '../src/sse';
import { parseSse } from './helpers/sse';

async function chunks(stream: ReadableStream<Uint8Array>) {
  const out: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of stream) out.push(decoder.decode(chunk));
  return out;
}

describe('SseStream', () => {
  it('sends the events of one synchronous pass as one chunk, in order, with rising ids', async () => {
    const sse = new SseStream(60_000);
    sse.send('status', { phase: 'answering' });
    sse.send('text', { text: 'Hello' });
    sse.send('text', { text: ', world' });
    await Promise.resolve();
    sse.send('done', { stop_reason: 'end_turn' });
    sse.close();
    const got = await chunks(sse.readable);
    expect(got).toHaveLength(2);
    const events = parseSse(got.join(''));
    expect(events.map((e) => [e.id, e.event, e.data])).toEqual([
      ['0', 'status', { phase: 'answering' }],
      ['1', 'text', { text: 'Hello' }],
      ['2', 'text', { text: ', world' }],
      ['3', 'done', { stop_reason: 'end_turn' }],
    ]);
  });

  it('writes an event sent just before close, and nothing after it', async () => {
    const sse = new SseStream(60_000);
    sse.send('error', { type: 'api_error', message: 'x' });
    sse.close();
    sse.send('text', { text: 'late' });
    const events = parseSse((await chunks(sse.readable)).join(''));
    expect(events.map((e) => e.event)).toEqual(['error']);
  });

  it('pings after the quiet interval', async () => {
    const sse = new SseStream(40);
    await new Promise((r) => setTimeout(r, 120));
    sse.close();
    expect((await chunks(sse.readable)).join('')).toContain(': ping\n\n');
  });
});
