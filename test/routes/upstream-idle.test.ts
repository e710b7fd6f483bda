import { describe, expect, it } from 'vitest';
import { auth, call, chat, createKey, expectError } from '../helpers/api';
import { readEventStream } from '../helpers/sse';

// UPSTREAM_IDLE_TIMEOUT_MS is 2500 in the tests (vitest.config.ts).
describe('an upstream that goes silent', () => {
  it('ends a streamed turn with timeout_error after the idle timeout, keeping the last good state', async () => {
    const { key } = await createKey();
    const first = (await (await chat(key, { message: 'fine' })).json()) as any;
    const started = Date.now();
    const res = await chat(key, {
      conversation_id: first.conversation_id,
      message: 'hang [sim:stall_ms=15000]',
      stream: true,
    });
    const { events, comments } = await readEventStream(res);
    const elapsed = Date.now() - started;
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { type: 'timeout_error' } });
    expect(elapsed).toBeGreaterThanOrEqual(2500);
    // Ended by the 2.5 s idle timeout, long before the 15 s stall would have ended it.
    expect(elapsed).toBeLessThan(12_000);
    // Our own keep-alive went on while the upstream was silent.
    expect(comments).toContain('ping');
    const t = (await (
      await call(`/v1/conversations/${first.conversation_id}`, { headers: auth(key) })
    ).json()) as any;
    expect(t.turns).toBe(1);
  });

  it('answers a JSON turn with 504 timeout_error', async () => {
    const { key } = await createKey();
    await expectError(
      await chat(key, { message: 'hang [sim:stall_ms=4000]' }),
      504,
      'timeout_error',
    );
  });

  it('does not time out while Claude thinks for longer than the timeout but sends pings', async () => {
    const { key } = await createKey();
    const { events } = await readEventStream(
      await chat(key, { message: 'long think [sim:think_ms=3000]', stream: true }),
    );
    expect(events.at(-1)!.event).toBe('done');
  });
});
