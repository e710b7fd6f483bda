/**
 * Claude's call started before the limiter's verdict (limits/headroom.ts): a conversation
 * whose last verdict left the key far from its limits starts the call at once; the limiter
 * still decides, exactly, and a turn it refuses has its call aborted and shows the client no
 * byte of Claude's answer.
 */
import { describe, expect, it } from 'vitest';
import { chat, createKey, expectError, okJson, openStreams } from '../helpers/api';
import { readEventStream } from '../helpers/sse';
import { until } from '../helpers/time';
import { upstream } from '../helpers/upstream';

const callsFor = (tag: string) =>
  upstream.requests.filter(
    (r) => r.path === '/v1/messages' && JSON.stringify(r.body?.messages?.at(-1)).includes(tag),
  );

describe("Claude's call started while the limiter decides", () => {
  it("admits exactly the key's concurrent streams across many conversations, and aborts the refused turns' calls unseen", async () => {
    const { key } = await createKey({
      limits: { concurrent_streams: 4, requests_per_minute: 10_000 },
    });
    // Twelve conversations, each with a verdict that leaves the key far from its limits.
    const ids: string[] = [];
    for (let i = 0; i < 12; i++)
      ids.push((await okJson(await chat(key, { message: `warm ${i}` }))).conversation_id);

    const answers = await Promise.all(
      ids.map((id, i) =>
        chat(key, { conversation_id: id, message: `burst-${i} [sim:think_ms=1500]`, stream: true }),
      ),
    );
    const accepted = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status === 429);
    expect(accepted).toHaveLength(4);
    expect(refused).toHaveLength(8);
    for (const r of refused) {
      // A plain 429: not a byte of a stream.
      expect(r.headers.get('content-type')).toMatch(/application\/json/);
      expect((await expectError(r, 429, 'rate_limit_error')).message).toMatch(/concurrent_streams/);
    }
    expect(await openStreams(key)).toBe(4);

    // The refused turns' calls were started early (else there would be 4 calls, not 12) and
    // then aborted: each upstream stream ended because the edge let go of it.
    const calls = ids.map((_, i) => callsFor(`burst-${i} `));
    expect(calls.every((c) => c.length === 1)).toBe(true);
    await until(async () => calls.every(([c]) => c!.stream?.endedAt !== undefined), 10_000);
    const cancelled = calls.filter(([c]) => c!.stream?.cancelled).length;
    expect(cancelled).toBe(8);

    for (const r of accepted) expect((await readEventStream(r)).events.at(-1)!.event).toBe('done');
    expect(await openStreams(key)).toBe(0);
  }, 30_000);

  it("starts a new conversation's call early from the key's last verdict in another conversation", async () => {
    const { key } = await createKey({
      limits: { concurrent_streams: 2, requests_per_minute: 10_000 },
    });
    // One turn: the key's verdict counted its own stream, one of two — far enough.
    await okJson(await chat(key, { message: 'warm' }));
    const answers = await Promise.all(
      [0, 1, 2].map((i) => chat(key, { message: `fresh-${i} [sim:think_ms=1500]`, stream: true })),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(2);
    const refused = answers.filter((r) => r.status === 429);
    expect(refused).toHaveLength(1);
    await expectError(refused[0]!, 429, 'rate_limit_error');
    // Three calls (asking first would have made two), the refused one's aborted.
    const calls = [0, 1, 2].map((i) => callsFor(`fresh-${i} `));
    expect(calls.every((c) => c.length === 1)).toBe(true);
    await until(async () => calls.every(([c]) => c!.stream?.endedAt !== undefined), 10_000);
    expect(calls.filter(([c]) => c!.stream?.cancelled)).toHaveLength(1);
    for (const r of answers.filter((r) => r.status === 200)) {
      expect((await readEventStream(r)).events.at(-1)!.event).toBe('done');
    }
  }, 30_000);

  it('asks first (no early call) when the last verdict shows the key near a limit', async () => {
    const { key } = await createKey({
      limits: { concurrent_streams: 1, requests_per_minute: 10_000 },
    });
    const first = await okJson(await chat(key, { message: 'warm' }));
    // Its verdict counted one open stream of one: near the limit.
    const holder = await chat(key, { message: 'holder [sim:think_ms=1500]', stream: true });
    expect(holder.status).toBe(200);
    await expectError(
      await chat(key, { conversation_id: first.conversation_id, message: 'asked-first' }),
      429,
      'rate_limit_error',
    );
    expect(callsFor('asked-first')).toHaveLength(0);
    await readEventStream(holder);
  }, 30_000);
});
