import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { chat, createKey } from '../helpers/api';
import { readEventStream } from '../helpers/sse';
import { UPSTREAM_KEY } from '../helpers/upstream';

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
});
afterEach(() => vi.restoreAllMocks());

const linesFor = (requestId: string) =>
  lines.map((l) => JSON.parse(l)).filter((l) => l.request_id === requestId);

async function eventually<T>(read: () => T[], count = 1): Promise<T[]> {
  for (let i = 0; i < 100 && read().length < count; i++)
    await new Promise((r) => setTimeout(r, 20));
  return read();
}

describe('request log', () => {
  it('writes one JSON line per streamed turn, after the stream, with key, route, status, time to first text and tokens', async () => {
    const { id: keyId, key } = await createKey();
    const res = await chat(key, { message: 'log me', stream: true });
    const requestId = res.headers.get('request-id')!;
    const { events } = await readEventStream(res);
    const [line, ...more] = await eventually(() => linesFor(requestId));
    expect(more).toHaveLength(0);
    expect(line).toMatchObject({
      request_id: requestId,
      key_id: keyId,
      method: 'POST',
      route: '/v1/chat',
      status: 200,
      conversation_id: events[0]!.data.conversation_id,
      usage: events.at(-1)!.data.usage,
    });
    expect(line.ttft_ms).toBeGreaterThanOrEqual(0);
    const all = lines.join('\n');
    expect(all).not.toContain(key);
    expect(all).not.toContain(UPSTREAM_KEY);
  });

  it('records the error type of a failed JSON turn, and the request id is in the error body', async () => {
    const { key } = await createKey();
    const res = await chat(key, { message: 'fail [sim:fail=midstream_error]' });
    const body = (await res.json()) as any;
    const requestId = res.headers.get('request-id')!;
    expect(body.request_id).toBe(requestId);
    const [line] = await eventually(() => linesFor(requestId));
    expect(line).toMatchObject({ status: 529, error_type: 'overloaded_error' });
  });
});
