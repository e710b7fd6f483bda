/**
 * Quick measurement for the core issue's note (the full benchmark is `npm run bench`, to
 * come): time to the first text token through `wrangler dev` (`/v1/chat` SSE, continuing a
 * conversation, so the KV reads are included) versus the simulator called directly.
 * Loopback only; stops by itself. Usage: `tsx scripts/first-text.ts [runs]`.
 */
import { percentile as pct, startHarness } from './harness';

const RUNS = Number(process.argv[2] ?? 40);
const MODEL = 'claude-sonnet-5';
const harness = await startHarness({ simPort: 8798, edgePort: 8797 });
const { sim, edge } = harness;

try {
  const key = { key: harness.key };
  // Each timed turn continues a fresh one-turn conversation, so history length stays fixed.
  const conversation = async () =>
    (await json(`${edge}/v1/chat`, { message: 'first turn' }, key.key)).conversation_id as string;
  const direct: number[] = [];
  const viaEdge: number[] = [];
  const firstByte: number[] = [];
  const health: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    direct.push(
      await firstText(
        `${sim}/v1/messages`,
        'harness-key',
        {
          model: MODEL,
          max_tokens: 1024,
          stream: true,
          thinking: { type: 'adaptive', display: 'omitted' },
          messages: [{ role: 'user', content: `run ${i}` }],
        },
        'content_block_delta',
      ),
    );
    viaEdge.push(
      await firstText(
        `${edge}/v1/chat`,
        key.key,
        { conversation_id: await conversation(), message: `run ${i}`, stream: true },
        'text',
      ),
    );
    firstByte.push(
      await firstText(
        `${edge}/v1/chat`,
        key.key,
        { conversation_id: await conversation(), message: `run ${i}`, stream: true },
        'conversation',
      ),
    );
    const h = performance.now();
    await (await fetch(`${edge}/health`)).text();
    health.push(performance.now() - h);
  }
  const row = (name: string, xs: number[]) =>
    `${name.padEnd(22)} p50 ${pct(xs, 50).toFixed(2)} ms  p90 ${pct(xs, 90).toFixed(2)} ms`;
  console.log(
    `first text token, ${RUNS} interleaved runs each (model ${MODEL}, simulator, loopback)`,
  );
  console.log(row('simulator direct', direct));
  console.log(row('thinking-edge (dev)', viaEdge));
  console.log(row('  its first SSE byte', firstByte));
  console.log(row('GET /health (dev)', health));
  console.log(`excess p50 ${(pct(viaEdge, 50) - pct(direct, 50)).toFixed(2)} ms`);
} finally {
  harness.stop();
}

async function firstText(url: string, key: string, body: unknown, marker: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let seen = '';
  let at = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value;
    const needle = marker === 'content_block_delta' ? '"text_delta"' : `event: ${marker}`;
    if (!at && seen.includes(needle)) at = performance.now();
  }
  if (!at) throw new Error(`no text from ${url}: ${seen.slice(0, 300)}`);
  return at - started;
}

async function json(url: string, body: unknown, token: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as any;
}
