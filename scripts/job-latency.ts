/**
 * `npx tsx scripts/job-latency.ts <edge-url> [jobs]`: against a running `npm run dev` (which
 * admits loopback callbacks; ADMIN_TOKEN as there), mints a key with room for the run, and
 * measures the time from `POST /v1/jobs` to its `202`
 * (sequential requests, no callback), and the wall time from a job's POST to its callback
 * arriving, verified, at a receiver this script starts on 127.0.0.1:8797. Loopback only;
 * fixed counts, so it stops by itself.
 */
import { serve } from '@hono/node-server';
import { Webhook } from 'standardwebhooks';
import { percentile } from '../bench/stats';

const [edge, count = '100'] = process.argv.slice(2);
if (!edge) {
  console.error('usage: npx tsx scripts/job-latency.ts <edge-url> [jobs]');
  process.exit(2);
}
const N = Number(count);
const admin = process.env.ADMIN_TOKEN ?? 'dev-admin-token';
const minted = await fetch(`${edge}/admin/keys`, {
  method: 'POST',
  headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
  body: JSON.stringify({
    name: 'job-latency',
    kind: 'secret',
    limits: { requests_per_minute: 100_000, concurrent_streams: 100 },
  }),
});
const { key, webhook_secret } = (await minted.json()) as { key: string; webhook_secret: string };
const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

const accepted: number[] = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  const res = await fetch(`${edge}/v1/jobs`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ message: `job ${i}` }),
  });
  await res.text();
  if (res.status !== 202) throw new Error(`POST /v1/jobs answered ${res.status}`);
  accepted.push(performance.now() - t0);
}
console.log(
  `POST /v1/jobs → 202, ${N} sequential: p50 ${percentile(accepted, 50).toFixed(1)} ms, p99 ${percentile(accepted, 99).toFixed(1)} ms`,
);

const webhook = new Webhook(webhook_secret);
const arrived = new Map<string, number>();
const server = serve({
  port: 8797,
  hostname: '127.0.0.1',
  async fetch(request) {
    const body = await request.text();
    const job = webhook.verify(body, Object.fromEntries(request.headers)) as { job_id: string };
    arrived.set(job.job_id, performance.now());
    return new Response(null, { status: 204 });
  },
});
const walls: number[] = [];
for (let i = 0; i < 10; i++) {
  const t0 = performance.now();
  const res = await fetch(`${edge}/v1/jobs`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      message: `called back ${i}`,
      callback_url: 'http://127.0.0.1:8797/hook',
    }),
  });
  const { job_id } = (await res.json()) as { job_id: string };
  for (let waited = 0; !arrived.has(job_id) && waited < 30_000; waited += 10) {
    await new Promise((r) => setTimeout(r, 10));
  }
  if (!arrived.has(job_id)) throw new Error(`no callback for ${job_id} within 30 s`);
  walls.push(arrived.get(job_id)! - t0);
}
console.log(
  `job → verified callback, 10 sequential simulator turns: p50 ${percentile(walls, 50).toFixed(0)} ms, max ${Math.max(...walls).toFixed(0)} ms`,
);
server.close();
