import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { auth, call, chat, createKey } from '../helpers/api';
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
  it('writes one line for a streamed request and one for its turn, joined by the request id', async () => {
    const { id: keyId, key } = await createKey();
    const res = await chat(key, { message: 'log me', stream: true });
    const requestId = res.headers.get('request-id')!;
    const { events } = await readEventStream(res);
    const found = await eventually(() => linesFor(requestId), 2);
    expect(found).toHaveLength(2);
    const request = found.find((l) => l.event === 'request');
    const turn = found.find((l) => l.event === 'turn');
    const conversationId = events[0]!.data.conversation_id;
    expect(request).toMatchObject({
      key_id: keyId,
      method: 'POST',
      route: '/v1/chat',
      status: 200,
      conversation_id: conversationId,
    });
    expect(turn).toMatchObject({
      key_id: keyId,
      conversation_id: conversationId,
      stream: true,
      status: 200,
      turn: 1,
      usage: events.at(-1)!.data.usage,
    });
    expect(turn.ttft_ms).toBeGreaterThanOrEqual(0);
    const all = lines.join('\n');
    expect(all).not.toContain(key);
    expect(all).not.toContain(UPSTREAM_KEY);
  });

  it("carries the request's end user on the request line and on its turn's line", async () => {
    const { key } = await createKey();
    const res = await chat(key, { message: 'log my user', user: 'u_logged' });
    expect(res.status).toBe(200);
    const found = await eventually(() => linesFor(res.headers.get('request-id')!), 2);
    expect(found.find((l) => l.event === 'request')).toMatchObject({ user: 'u_logged' });
    expect(found.find((l) => l.event === 'turn')).toMatchObject({ user: 'u_logged' });

    const usage = await call('/v1/usage?user=u_logged', { headers: auth(key) });
    const [line] = await eventually(() => linesFor(usage.headers.get('request-id')!));
    expect(line).toMatchObject({ event: 'request', route: '/v1/usage', user: 'u_logged' });

    const anonymous = await chat(key, { message: 'no user' });
    const lines = await eventually(() => linesFor(anonymous.headers.get('request-id')!), 2);
    for (const l of lines) expect(l).not.toHaveProperty('user');
  });

  it('records the error type of a failed JSON turn on both lines, and the request id is in the error body', async () => {
    const { key } = await createKey();
    const res = await chat(key, { message: 'fail [sim:fail=midstream_error]' });
    const body = (await res.json()) as any;
    const requestId = res.headers.get('request-id')!;
    expect(body.request_id).toBe(requestId);
    const found = await eventually(() => linesFor(requestId), 2);
    expect(found.find((l) => l.event === 'request')).toMatchObject({
      status: 529,
      error_type: 'overloaded_error',
    });
    expect(found.find((l) => l.event === 'turn')).toMatchObject({
      status: 529,
      error_type: 'overloaded_error',
      stream: false,
    });
  });
});
