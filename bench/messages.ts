/**
 * `npx tsx bench/messages.ts [rounds]`: what `POST /v1/messages` adds over the bare
 * pass-through Worker (bench/bare, the floor any Worker proxy pays), measured in one run:
 * the same streamed Messages API request (thinking adaptive, display omitted, the simulator
 * thinking 200 ms) to the simulator directly, to the bare Worker and to thinking-edge, in a
 * rotating order each round so that machine noise hits all three alike. Reports time to the
 * first byte and to the first text delta, and the paired edge − bare differences.
 * Loopback only; ports 8821–8824.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { rotate } from './interleave';
import { jsonPost, streamMarks } from './measure';
import {
  type DevServer,
  killAllGroups,
  startEdgeDev,
  startSimulator,
  startWrangler,
} from './servers';
import { percentile } from './stats';

const ROUNDS = Number(process.argv[2] ?? 100);
const ADMIN = 'messages-admin';
const UPSTREAM_KEY = 'messages-upstream';
const root = resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'thinking-edge-messages-'));
const sim = startSimulator(8821, UPSTREAM_KEY);
const servers: DevServer[] = [];

const wrangler = async (name: string, args: string[], port: number, inspector: number) => {
  const server = await startWrangler({
    name,
    args: [...args, '--inspector-port', String(inspector)],
    port,
    logFile: join(tmp, `${name}.log`),
    readyPath: name === 'bare' ? '/' : '/health',
    debugLogDir: join(tmp, 'wrangler-logs'),
    timeoutMs: 90_000,
  });
  servers.push(server);
  return server;
};

const body = (tag: string) => ({
  model: 'claude-opus-4-8',
  max_tokens: 2000,
  stream: true,
  thinking: { type: 'adaptive', display: 'omitted' },
  messages: [{ role: 'user', content: `bench#${tag} [sim:think_ms=200]` }],
});

try {
  const [bare, edge] = await Promise.all([
    wrangler(
      'bare',
      ['-c', join(root, 'bench/bare/wrangler.toml'), '--var', `UPSTREAM_URL:${sim.url}`],
      8822,
      9322,
    ),
    startEdgeDev({
      config: join(root, 'wrangler.toml'),
      tmp,
      port: 8823,
      inspectorPort: 9323,
      upstreamUrl: sim.url,
      upstreamKey: UPSTREAM_KEY,
      adminToken: ADMIN,
    }).then((server) => {
      servers.push(server);
      return server;
    }),
  ]);
  const { json } = await jsonPost<{ key: string }>(
    `${edge.url}/admin/keys`,
    { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    {
      name: 'messages',
      kind: 'secret',
      limits: { requests_per_minute: 1e6, concurrent_streams: 100, tokens_per_day: 1e12 },
    },
  );
  const targets = {
    direct: { url: `${sim.url}/v1/messages`, headers: { 'x-api-key': UPSTREAM_KEY } },
    bare: { url: `${bare.url}/v1/messages`, headers: { 'x-api-key': UPSTREAM_KEY } },
    edge: { url: `${edge.url}/v1/messages`, headers: { authorization: `Bearer ${json.key}` } },
  };
  type Name = keyof typeof targets;
  const names = Object.keys(targets) as Name[];
  const turn = (name: Name, tag: string) =>
    streamMarks(
      targets[name].url,
      {
        ...targets[name].headers,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
      },
      body(tag),
      'text_delta',
      'message_stop',
    );
  for (let i = 0; i < 5; i++) for (const n of names) await turn(n, `warm-${i}-${n}`);
  const firstByte = { direct: [], bare: [], edge: [] } as Record<Name, number[]>;
  const firstText = { direct: [], bare: [], edge: [] } as Record<Name, number[]>;
  const pairedByte: number[] = [];
  const pairedText: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const got = {} as Record<Name, { firstByte: number; firstText: number }>;
    for (const n of rotate(names, r)) got[n] = await turn(n, `r${r}-${n}`);
    for (const n of names) {
      firstByte[n].push(got[n].firstByte);
      firstText[n].push(got[n].firstText);
    }
    pairedByte.push(got.edge.firstByte - got.bare.firstByte);
    pairedText.push(got.edge.firstText - got.bare.firstText);
  }
  const row = (label: string, xs: number[]) =>
    `${label.padEnd(40)} ${[50, 90, 99].map((p) => percentile(xs, p).toFixed(2).padStart(9)).join('')}`;
  console.log(`POST /v1/messages, ${ROUNDS} rounds, streamed, think 200 ms (ms)`);
  console.log(`${''.padEnd(40)} ${['p50', 'p90', 'p99'].map((h) => h.padStart(9)).join('')}`);
  for (const n of names) console.log(row(`first byte, ${n}`, firstByte[n]));
  for (const n of names) console.log(row(`first text, ${n}`, firstText[n]));
  console.log(row('paired first byte, edge − bare', pairedByte));
  console.log(row('paired first text, edge − bare', pairedText));
} finally {
  await Promise.allSettled(servers.map((s) => s.stop()));
  killAllGroups();
  await sim.close();
  rmSync(tmp, { recursive: true, force: true });
}
