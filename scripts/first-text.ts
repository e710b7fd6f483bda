/**
 * Quick measurement for the core issue's note (the full benchmark is `npm run bench`, to
 * come): time to the first text token through `wrangler dev` (`/v1/chat` SSE, continuing a
 * conversation, so the KV reads are included) versus the simulator called directly.
 * Loopback only; stops by itself. Usage: `tsx scripts/first-text.ts [runs]`.
 */
import { spawn } from 'node:child_process';
import { serve } from '@hono/node-server';
import { createSimulator } from '../simulator';

const RUNS = Number(process.argv[2] ?? 40);
const SIM_PORT = 8798;
const EDGE_PORT = 8797;
const ADMIN = 'measure-admin';
const MODEL = 'claude-sonnet-5';
const sim = `http://127.0.0.1:${SIM_PORT}`;
const edge = `http://127.0.0.1:${EDGE_PORT}`;

const simulator = createSimulator({ apiKey: 'measure-key' });
const server = serve({ fetch: simulator.fetch, port: SIM_PORT, hostname: '127.0.0.1' });
const wrangler = spawn(
  'npx',
  [
    'wrangler',
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(EDGE_PORT),
    '--var',
    `ANTHROPIC_BASE_URL:${sim}`,
    '--var',
    'ANTHROPIC_API_KEY:measure-key',
    '--var',
    `ADMIN_TOKEN:${ADMIN}`,
  ],
  { stdio: 'ignore', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' }, detached: true },
);

try {
  await waitFor(`${edge}/health`);
  const key = await json(
    `${edge}/admin/keys`,
    {
      name: 'measure',
      kind: 'secret',
      limits: {
        requests_per_minute: 1_000_000,
        concurrent_streams: 1000,
        tokens_per_day: 1_000_000_000_000,
      },
    },
    ADMIN,
  );
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
        'measure-key',
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
  server.close();
  try {
    process.kill(-wrangler.pid!, 'SIGTERM');
  } catch {
    // already gone
  }
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

async function waitFor(url: string) {
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up`);
}

function pct(xs: number[], p: number) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
