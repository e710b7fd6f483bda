/**
 * `npm run test:load [N] [rounds]`: N concurrent SSE turns (default 50), each in its own
 * conversation, through `wrangler dev` and the simulator on loopback; then the same N
 * conversations continued, round after round (default 3 rounds in all). Every turn must end
 * with `done` and be stored (its transcript shows the turn).
 *
 * Descriptors: each live conversation object holds some of its own in workerd (its SQLite
 * files, its connections), so the first round grows them with N; a leak grows them with
 * every turn (under wrangler 4.86, two sockets per upstream chunk). So the rounds after the
 * first must leave workerd's descriptors where the first round left them, give or take
 * `maxDescriptorGrowth`. Bounded: fixed counts, a 240 s deadline.
 */
import { percentile } from '../bench/stats';
import { boundedRun, type Harness } from './harness';

const N = Number(process.argv[2] ?? 50);
const ROUNDS = Math.max(2, Number(process.argv[3] ?? 3));

await boundedRun(
  {
    name: 'load test',
    simPort: 8796,
    edgePort: 8795,
    deadlineMs: 240_000,
    // Descriptors workerd may gain from the end of the first round to the end of the last
    // (a leak grows by thousands).
    maxDescriptorGrowth: 100,
  },
  async (harness, baseline) => {
    let ok = true;
    let ids: Array<string | undefined> = Array.from({ length: N });
    for (let round = 1; round <= ROUNDS; round++) {
      const result = await oneRound(harness, round, ids);
      ids = result.ids;
      ok &&= result.ok;
      console.log(`after round ${round}: workerd descriptors ${harness.descriptors()}`);
      // The rounds after the first are the ones measured for growth.
      if (round === 1) baseline();
    }
    return ok;
  },
);

/** N turns at once, each continuing its conversation (or starting one in round 1). */
async function oneRound(harness: Harness, round: number, ids: Array<string | undefined>) {
  const started = performance.now();
  const results = await Promise.all(
    ids.map(async (conversationId, i) => {
      const t0 = performance.now();
      const res = await fetch(`${harness.edge}/v1/chat`, {
        method: 'POST',
        headers: harness.headers,
        // Thinking for 300 ms and 50 words at 5 ms each: all N overlap.
        body: JSON.stringify({
          ...(conversationId ? { conversation_id: conversationId } : {}),
          message: `load ${i} [sim:think_ms=300] [sim:words=50] [sim:text_delay_ms=5]`,
          stream: true,
        }),
      });
      let body = '';
      let firstText = NaN;
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        body += value;
        if (Number.isNaN(firstText) && body.includes('event: text'))
          firstText = performance.now() - t0;
      }
      const id = /"conversation_id":"(c_[A-Za-z0-9]+)"/.exec(body)?.[1];
      return {
        status: res.status,
        done: body.includes('event: done'),
        id,
        firstText,
        total: performance.now() - t0,
      };
    }),
  );
  const wall = performance.now() - started;
  const stored = await Promise.all(
    results.map(async (r) => {
      if (!r.id) return false;
      const t = await fetch(`${harness.edge}/v1/conversations/${r.id}`, {
        headers: harness.headers,
      });
      return t.ok && ((await t.json()) as { turns: number }).turns === round;
    }),
  );
  const ok = results.filter((r) => r.status === 200 && r.done).length;
  const storedCount = stored.filter(Boolean).length;
  const ft = results.map((r) => r.firstText).filter((x) => !Number.isNaN(x));
  const totals = results.map((r) => r.total);
  console.log(
    `round ${round}: ${N} concurrent SSE turns through wrangler dev + simulator (loopback), wall ${wall.toFixed(0)} ms`,
  );
  console.log(
    `  ended with done: ${ok}/${N}; stored (transcript shows turn ${round}): ${storedCount}/${N}`,
  );
  console.log(
    `  first text p50 ${percentile(ft, 50).toFixed(1)} ms, p90 ${percentile(ft, 90).toFixed(1)} ms, max ${Math.max(...ft).toFixed(1)} ms`,
  );
  console.log(
    `  whole turn p50 ${percentile(totals, 50).toFixed(1)} ms, p90 ${percentile(totals, 90).toFixed(1)} ms, max ${Math.max(...totals).toFixed(1)} ms`,
  );
  return { ok: ok === N && storedCount === N, ids: results.map((r) => r.id) };
}
