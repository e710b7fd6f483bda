import { describe, expect, it } from 'vitest';
import { frame } from '../../src/conversation/sse';
import { TurnLog } from '../../src/conversation/turn-log';
import { parseSse } from '../helpers/sse';

const decoder = new TextDecoder();

async function text(stream: ReadableStream<Uint8Array>) {
  let out = '';
  for await (const chunk of stream) out += decoder.decode(chunk);
  return out;
}

const usage = {
  input_tokens: 1,
  output_tokens: 2,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
};

describe('TurnLog readers (the SSE stream of a turn)', () => {
  it('gives a waiting reader each synchronous pass of events as one chunk, at once', async () => {
    const log = new TurnLog(7);
    const reader = log.attach(-1, 60_000).getReader();
    const first = reader.read(); // the client is waiting
    log.append({ event: 'status', data: { phase: 'answering' } });
    log.append({ event: 'text', data: { text: 'Hello' } });
    log.append({ event: 'text', data: { text: ', world' } });
    const chunk = await first;
    expect(parseSse(decoder.decode(chunk.value)).map((e) => [e.id, e.event, e.data])).toEqual([
      ['7:0', 'status', { phase: 'answering' }],
      ['7:1', 'text', { text: 'Hello' }],
      ['7:2', 'text', { text: ', world' }],
    ]);
    const second = reader.read();
    log.append({ event: 'done', data: { stop_reason: 'end_turn', usage, turn: 1 } });
    expect(parseSse(decoder.decode((await second).value))).toEqual([
      { id: '7:3', event: 'done', data: { stop_reason: 'end_turn', usage, turn: 1 } },
    ]);
    log.end();
    expect((await reader.read()).done).toBe(true);
  });

  it('hands a reader that fell behind everything since its last read in one chunk', async () => {
    const log = new TurnLog(7);
    const stream = log.attach(-1, 60_000);
    for (let i = 0; i < 5; i++) {
      log.append({ event: 'text', data: { text: `t${i}` } });
      await new Promise((r) => setTimeout(r, 1)); // separate passes, nobody reading
    }
    const { value } = await stream.getReader().read();
    const events = parseSse(decoder.decode(value));
    expect(events.map((e) => e.data)).toEqual([0, 1, 2, 3, 4].map((i) => ({ text: `t${i}` })));
    expect(events.map((e) => e.id)).toEqual(['7:0', '7:1', '7:2', '7:3', '7:4']);
  });

  it('ends every stream after the last event, and logs nothing after the end', async () => {
    const log = new TurnLog(7);
    const stream = log.attach(-1, 60_000);
    log.append({ event: 'error', data: { type: 'api_error', message: 'x' } });
    log.end();
    log.append({ event: 'text', data: { text: 'late' } });
    expect(parseSse(await text(stream)).map((e) => e.event)).toEqual(['error']);
    expect(log.frames).toHaveLength(1);
  });

  it('pings after the quiet interval', async () => {
    const log = new TurnLog(1);
    const stream = log.attach(-1, 40);
    await new Promise((r) => setTimeout(r, 120));
    log.end();
    expect(await text(stream)).toContain(': ping\n\n');
  });

  it('gives a reader that attaches later the events after its id, byte for byte, then the live ones', async () => {
    const log = new TurnLog(3);
    const first = log.attach(-1, 60_000);
    for (const t of ['a', 'b', 'c']) log.append({ event: 'text', data: { text: t } });
    const late = log.attach(1, 60_000); // saw 3:0 and 3:1
    log.append({ event: 'text', data: { text: 'd' } });
    log.end();
    const [all, rest] = await Promise.all([text(first), text(late)]);
    expect(rest).toBe(log.frames.slice(2).join(''));
    expect(all.endsWith(rest)).toBe(true);
    expect(parseSse(rest).map((e) => e.id)).toEqual(['3:2', '3:3']);
    expect(rest.startsWith(frame(3, 2, { event: 'text', data: { text: 'c' } }))).toBe(true);
  });

  it('lets a reader leave without touching the others', async () => {
    const log = new TurnLog(2);
    const leaving = log.attach(-1, 60_000);
    const staying = log.attach(-1, 60_000);
    log.append({ event: 'text', data: { text: 'one' } });
    await leaving.cancel();
    log.append({ event: 'text', data: { text: 'two' } });
    log.end();
    expect(parseSse(await text(staying)).map((e) => e.data.text)).toEqual(['one', 'two']);
  });

  it('answers a reader of an ended turn with the rest and the end', async () => {
    const log = new TurnLog(4);
    log.append({ event: 'text', data: { text: 'x' } });
    log.append({ event: 'cancelled', data: { turn: 4 } });
    log.end();
    expect(parseSse(await text(log.attach(0, 60_000)))).toEqual([
      { id: '4:1', event: 'cancelled', data: { turn: 4 } },
    ]);
  });
});
