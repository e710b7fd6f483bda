import { describe, expect, it } from 'vitest';
import { MalformedEvent, readEvents } from '../../src/anthropic/events';
import type { WireEvent } from '../../src/anthropic/stream';
import midstreamError from '../fixtures/upstream/midstream-error.sse?raw';
import omitted from '../fixtures/upstream/thinking-omitted.sse?raw';
import { parseSse } from '../helpers/sse';

/** A body that delivers `bytes` in chunks of `size`, recording whether it was cancelled. */
function body(text: string, size: number) {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  const state = { cancelled: false, pulls: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      state.pulls++;
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

async function read(text: string, size: number) {
  const events: WireEvent[] = [];
  let chunks = 0;
  await readEvents(body(text, size).stream, (e) => events.push(e), { onBytes: () => chunks++ });
  return { events, chunks };
}

describe('reading the upstream SSE body', () => {
  it('yields the same events however the bytes are split into chunks', async () => {
    const expected = parseSse(omitted).map((e) => e.data);
    expect(expected.length).toBeGreaterThan(5);
    for (const size of [1, 3, 17, 64, 100_000]) {
      const { events, chunks } = await read(omitted, size);
      expect(events).toEqual(expected);
      expect(chunks).toBe(Math.ceil(new TextEncoder().encode(omitted).length / size));
    }
  });

  it('keeps multi-byte characters split across chunks intact', async () => {
    const text = 'Grüße, 東京 😀';
    const wire = `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })}\n\n`;
    const { events } = await read(wire, 1);
    expect(events).toEqual([
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } },
    ]);
  });

  it('passes pings and an error event after the 200 through as events', async () => {
    const { events } = await read(midstreamError, 50);
    expect(events.map((e) => e.type)).toContain('error');
    const { events: pinged } = await read('event: ping\ndata: {"type": "ping"}\n\n', 4);
    expect(pinged).toEqual([{ type: 'ping' }]);
  });

  it('refuses an event that is not JSON and cancels the upstream body', async () => {
    const { stream, state } = body(
      'event: ping\ndata: {"type":"ping"}\n\nevent: content_block_delta\ndata: {not json\n\nevent: ping\ndata: {"type":"ping"}\n\n',
      20,
    );
    const seen: WireEvent[] = [];
    const reading = readEvents(stream, (e) => seen.push(e));
    await expect(reading).rejects.toBeInstanceOf(MalformedEvent);
    expect(seen).toEqual([{ type: 'ping' }]);
    expect(state.cancelled).toBe(true);
  });

  it('stops reading when its signal fires, even if the body never ends', async () => {
    const state = { cancelled: false };
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('event: ping\ndata: {"type":"ping"}\n\n'));
      },
      cancel() {
        state.cancelled = true;
      },
    });
    const abort = new AbortController();
    const seen: WireEvent[] = [];
    const reading = readEvents(stream, (e) => seen.push(e), { signal: abort.signal });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([{ type: 'ping' }]);
    abort.abort();
    await reading;
    expect(state.cancelled).toBe(true);
  });
});
