/**
 * `npm run test:load`: N concurrent SSE turns (default 50), each in its own conversation,
 * through `wrangler dev` and the simulator on loopback. Every turn must end with `done`
 * and be stored (its transcript shows one turn), and workerd's descriptors must stay
 * bounded. Bounded: one round, a 120 s deadline.
 */
import { percentile } from '../bench/stats';
import { boundedRun } from './harness';

const N = Number(process.argv[2] ?? 50);

await boundedRun(
  {
    name: 'load test',
    simPort: 8796,
    edgePort: 8795,
    deadlineMs: 120_000,
    // Descriptors workerd may gain over the round (a leak grows by thousands).
    maxDescriptorGrowth: 400,
  },
  async (harness) => {
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const t0 = performance.now();
        const res = await fetch(`${harness.edge}/v1/chat`, {
          method: 'POST',
          headers: harness.headers,
          // Thinking for 300 ms and 50 words at 5 ms each: all N overlap.
          body: JSON.stringify({
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
        return t.ok && ((await t.json()) as { turns: number }).turns === 1;
      }),
    );
    const ok = results.filter((r) => r.status === 200 && r.done).length;
    const storedCount = stored.filter(Boolean).length;
    const ft = results.map((r) => r.firstText).filter((x) => !Number.isNaN(x));
    const totals = results.map((r) => r.total);
    console.log(
      `${N} concurrent SSE turns through wrangler dev + simulator (loopback), wall ${wall.toFixed(0)} ms`,
    );
    console.log(
      `ended with done: ${ok}/${N}; stored (transcript shows the turn): ${storedCount}/${N}`,
    );
    console.log(
      `first text p50 ${percentile(ft, 50).toFixed(1)} ms, p90 ${percentile(ft, 90).toFixed(1)} ms, max ${Math.max(...ft).toFixed(1)} ms`,
    );
    console.log(
      `whole turn p50 ${percentile(totals, 50).toFixed(1)} ms, p90 ${percentile(totals, 90).toFixed(1)} ms, max ${Math.max(...totals).toFixed(1)} ms`,
    );
    return ok === N && storedCount === N;
  },
);
