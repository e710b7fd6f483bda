/**
 * `npx tsx scripts/cancel-latency.ts [turns]`: how fast `POST /v1/conversations/:id/cancel`
 * stops a turn, measured as a client sees it, through `wrangler dev` (local Durable Objects)
 * with the Messages API simulator served in this process, so that it can tell when the
 * edge aborted its stream. Per turn, from sending the cancel: its `200`, the `cancelled`
 * event on the turn's own stream, and the upstream stream's abort; and, to compare, the same
 * request when nothing runs (its `409`: what reaching the object costs). Half the turns are
 * cancelled while Claude thinks, half while it writes. Loopback only; ports 8797–8799.
 */
import { startEdgeWithSimulator } from '../bench/edge-dev';
import { percentile } from '../bench/stats';

const TURNS = Number(process.argv[2] ?? 40);
const { simulator, edge, headers, stop } = await startEdgeWithSimulator({
  port: 8797,
  simulator: { pingIntervalMs: 200 },
});

try {
  const figures = {
    response: [] as number[],
    event: [] as number[],
    upstream: [] as number[],
    idle: [] as number[],
  };

  for (let i = 0; i < TURNS; i++) {
    const writing = i % 2 === 1;
    const message = writing
      ? `write #${i} [sim:words=5000] [sim:text_delay_ms=5]`
      : `think #${i} [sim:think_ms=10000]`;
    const calls = simulator.requests.length;
    const res = await fetch(`${edge.url}/v1/chat`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ message, stream: true }),
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let body = '';
    // Cancel once the turn is where we want it: Claude called, or writing.
    const ready = writing ? 'event: text' : 'event: status';
    while (!body.includes(ready)) body += (await reader.read()).value ?? '';
    const id = /"conversation_id":"(c_[A-Za-z0-9]+)"/.exec(body)![1];
    const upstreamCall = simulator.requests.slice(calls).find((r) => r.path === '/v1/messages');
    const t0 = Date.now();
    const cancelled = fetch(`${edge.url}/v1/conversations/${id}/cancel`, {
      method: 'POST',
      headers,
    });
    let eventAt: number | undefined;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += value;
      if (eventAt === undefined && body.includes('event: cancelled')) eventAt = Date.now();
    }
    const answer = await cancelled;
    const responseAt = Date.now();
    await answer.text();
    if (answer.status !== 200 || eventAt === undefined) {
      throw new Error(
        `turn ${i}: cancel ${answer.status}, cancelled event ${eventAt !== undefined}`,
      );
    }
    for (let w = 0; w < 100 && upstreamCall?.stream?.endedAt === undefined; w++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const stream = upstreamCall?.stream;
    if (!stream?.cancelled || stream.endedAt === undefined) {
      throw new Error(`turn ${i}: the upstream stream was not aborted`);
    }
    // The same request with nothing to cancel (409): the cost of reaching the object.
    const t1 = Date.now();
    const idle = await fetch(`${edge.url}/v1/conversations/${id}/cancel`, {
      method: 'POST',
      headers,
    });
    await idle.text();
    if (idle.status !== 409) throw new Error(`turn ${i}: an idle cancel answered ${idle.status}`);
    figures.idle.push(Date.now() - t1);
    figures.response.push(responseAt - t0);
    figures.event.push(eventAt - t0);
    figures.upstream.push(stream.endedAt - t0);
  }
  const row = (name: string, xs: number[]) =>
    `${name.padEnd(34)} p50 ${percentile(xs, 50).toFixed(1).padStart(6)} ms   p90 ${percentile(xs, 90).toFixed(1).padStart(6)} ms   max ${Math.max(
      ...xs,
    )
      .toFixed(1)
      .padStart(6)} ms`;
  console.log(`${TURNS} turns cancelled (half thinking, half writing), from POST …/cancel:`);
  console.log(row('its 200', figures.response));
  console.log(row('the cancelled event on the stream', figures.event));
  console.log(row('the upstream stream aborted', figures.upstream));
  console.log(row('for comparison: a 409 (nothing runs)', figures.idle));
} finally {
  await stop();
}
