/**
 * `npm run test:long`: long streamed answers through `wrangler dev` and the simulator on
 * loopback must leave the dev server's descriptors bounded. Under wrangler 4.86 each
 * 16,000-token answer left workerd holding ~2 sockets per upstream chunk (CLOSE-WAIT towards
 * wrangler's proxy) until, at 20,000, every connection failed; this fails on that.
 * Bounded: ROUNDS answers, one after another, a 240 s deadline.
 */
import { boundedRun } from './harness';

const ROUNDS = Number(process.argv[2] ?? 3);
const WORDS = 12_000;

await boundedRun(
  {
    name: 'long answers',
    simPort: 8798,
    edgePort: 8797,
    deadlineMs: 240_000,
    // Far below one leaked answer (~2 per chunk, thousands of chunks), well above noise.
    maxDescriptorGrowth: 200,
  },
  async (harness) => {
    let ok = true;
    for (let i = 1; i <= ROUNDS; i++) {
      const t0 = performance.now();
      const res = await fetch(`${harness.edge}/v1/chat`, {
        method: 'POST',
        headers: harness.headers,
        body: JSON.stringify({ message: `long answer ${i} [sim:words=${WORDS}]`, stream: true }),
      });
      const body = await res.text();
      const texts = body.split('event: text').length - 1;
      const done = res.status === 200 && body.includes('event: done');
      const id = /"conversation_id":"(c_[A-Za-z0-9]+)"/.exec(body)?.[1];
      const stored = id
        ? (await fetch(`${harness.edge}/v1/conversations/${id}`, { headers: harness.headers })).ok
        : false;
      console.log(
        `answer ${i} of ${WORDS} words: ${res.status}, ${texts} text events, done ${done}, stored ${stored}, ${(performance.now() - t0).toFixed(0)} ms; workerd descriptors ${harness.descriptors()}`,
      );
      if (!done || !stored) ok = false;
    }
    return ok;
  },
);
