/**
 * `npx tsx bench/ab.ts <git-ref> [rounds] [new | cpu[=delta-words] | c50]`: thinking-edge as it is in this working tree (B)
 * against the same project at <git-ref> (A), side by side under `wrangler dev`, one simulator,
 * turns interleaved A, B, B, A… so that machine noise (this VM has CPU steal) hits both
 * alike. It reports first-text and "until the upstream has the request" percentiles per side
 * and the paired difference per round, which is what a change to the hot path should move.
 * The measured turn continues a conversation (one set-up turn before it), or with `new` is a
 * new conversation's first turn. With `cpu`, it measures instead the runtime workerd's CPU
 * per streamed turn of a 750-word answer (2 words a delta, or `cpu=N`), in `rounds` windows
 * of 20 turns per side, alternating A, B, B, A…; set-up turns are outside the windows.
 * With `c50`, each round sends 50 streamed turns at once (50 conversations of one key) to
 * one side, then to the other, and reports first text and the time from the upstream's first
 * text to the client, per side.
 * Loopback only; ports 8791–8795; A's tree is a temporary `git worktree`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jsonPost, pool, streamMarks } from './measure';
import {
  cpuMs,
  type DevServer,
  killAllGroups,
  sleep,
  startSimulator,
  startEdgeDev,
} from './servers';
import { percentile } from './stats';

const ref = process.argv[2];
const ROUNDS = Number(process.argv[3] ?? 80);
const mode = process.argv[4];
const NEW = mode === 'new';
const CPU_DELTA_WORDS = mode?.startsWith('cpu') ? Number(mode.split('=')[1] ?? 2) : undefined;
const CONCURRENT = mode === 'c50' ? 50 : undefined;
if (!ref || (mode !== undefined && !NEW && !CONCURRENT && !(CPU_DELTA_WORDS! > 0))) {
  console.error('usage: npx tsx bench/ab.ts <git-ref> [rounds] [new | cpu[=delta-words] | c50]');
  process.exit(2);
}
const root = resolve(import.meta.dirname, '..');
const ADMIN = 'ab-admin';
const UPSTREAM_KEY = 'ab-upstream';
const tmp = mkdtempSync(join(tmpdir(), 'thinking-edge-ab-'));
const treeA = join(tmp, 'a');
execFileSync('git', ['worktree', 'add', '--detach', treeA, ref], { cwd: root, stdio: 'ignore' });
symlinkSync(join(root, 'node_modules'), join(treeA, 'node_modules'));

const sim = startSimulator(8791, UPSTREAM_KEY);
const servers: DevServer[] = [];

async function edge(name: string, dir: string, port: number, inspector: number) {
  const server = await startEdgeDev({
    name,
    config: join(dir, 'wrangler.toml'),
    tmp,
    port,
    inspectorPort: inspector,
    upstreamUrl: sim.url,
    upstreamKey: UPSTREAM_KEY,
    adminToken: ADMIN,
  });
  servers.push(server);
  const { json } = await jsonPost<{ key: string }>(
    `${server.url}/admin/keys`,
    { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    {
      name: 'ab',
      kind: 'secret',
      limits: { requests_per_minute: 1e6, concurrent_streams: 1000, tokens_per_day: 1e12 },
    },
  );
  return { url: server.url, key: json.key, server };
}

type Side = Awaited<ReturnType<typeof edge>>;
const CPU_TURNS = 20;

/** Runtime workerd CPU (ms) per streamed turn of a 750-word answer, set-up turns excluded. */
async function cpuPerTurn(side: Side, tag: string, deltaWords: number): Promise<number> {
  const headers = { authorization: `Bearer ${side.key}`, 'content-type': 'application/json' };
  const convs: string[] = [];
  for (let i = 0; i < CPU_TURNS; i++) {
    const { json } = await jsonPost<{ conversation_id: string }>(`${side.url}/v1/chat`, headers, {
      message: 'ab setup',
    });
    convs.push(json.conversation_id);
  }
  await sleep(300);
  const { runtime } = side.server.workerdRoles();
  const c0 = cpuMs(runtime);
  for (const [i, conversation_id] of convs.entries()) {
    await streamMarks(
      `${side.url}/v1/chat`,
      headers,
      {
        conversation_id,
        message: `cpu#${tag}-${i} [sim:words=750] [sim:delta_words=${deltaWords}]`,
        stream: true,
      },
      'event: text',
      'event: done',
    );
  }
  await sleep(300); // the turn's work after its last byte
  return (cpuMs(runtime) - c0) / CPU_TURNS;
}

async function compareCpu(a: Side, b: Side, deltaWords: number) {
  const out = { a: [] as number[], b: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of r % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
      out[s].push(await cpuPerTurn(s === 'a' ? a : b, `${r}${s}`, deltaWords));
    }
  }
  const diff = out.b.map((x, i) => x - out.a[i]!);
  console.log(
    `A = ${ref}, B = working tree; runtime workerd CPU per streamed turn of 750 words, ${deltaWords} a delta: ${ROUNDS} windows of ${CPU_TURNS} turns per side (ms)`,
  );
  console.log(`${''.padEnd(34)} ${['p50', 'p90', 'p99'].map((h) => h.padStart(9)).join('')}`);
  console.log(row('CPU per turn, A', out.a));
  console.log(row('CPU per turn, B', out.b));
  console.log(row('paired B − A', diff));
}

/** `n` streamed turns at once on one side, each continuing its own one-turn conversation. */
async function burst(side: Side, n: number, tag: string) {
  const headers = { authorization: `Bearer ${side.key}`, 'content-type': 'application/json' };
  const conversations = await pool(Array.from({ length: n }), 10, async () => {
    const { json } = await jsonPost<{ conversation_id: string }>(`${side.url}/v1/chat`, headers, {
      message: 'ab setup',
    });
    return json.conversation_id;
  });
  await sleep(300);
  return Promise.all(
    conversations.map(async (conversation_id, i) => {
      const marks = await streamMarks(
        `${side.url}/v1/chat`,
        headers,
        { conversation_id, message: `bench#${tag}-${i} [sim:think_ms=200]`, stream: true },
        'event: text',
        'event: done',
      );
      const tap = sim.taps.get(`${tag}-${i}`);
      sim.taps.delete(`${tag}-${i}`);
      return {
        firstText: marks.firstText,
        relay: tap ? marks.t0 + marks.firstText - tap.firstText : NaN,
      };
    }),
  );
}

async function compareConcurrent(a: Side, b: Side, n: number) {
  const out = { a: [] as number[], b: [] as number[], ra: [] as number[], rb: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of r % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
      for (const got of await burst(s === 'a' ? a : b, n, `c${r}${s}`)) {
        out[s].push(got.firstText);
        (s === 'a' ? out.ra : out.rb).push(got.relay);
      }
    }
  }
  console.log(
    `A = ${ref}, B = working tree; ${ROUNDS} rounds of ${n} streamed turns at once (one key), think 200 ms (ms)`,
  );
  console.log(`${''.padEnd(34)} ${['p50', 'p90', 'p99'].map((h) => h.padStart(9)).join('')}`);
  console.log(row('first text, A', out.a));
  console.log(row('first text, B', out.b));
  console.log(row('relay (upstream text → client), A', out.ra));
  console.log(row('relay (upstream text → client), B', out.rb));
}

async function turn(side: { url: string; key: string }, tag: string) {
  const headers = { authorization: `Bearer ${side.key}`, 'content-type': 'application/json' };
  const setup = NEW
    ? undefined
    : await jsonPost<{ conversation_id: string }>(`${side.url}/v1/chat`, headers, {
        message: 'ab setup',
      });
  const marks = await streamMarks(
    `${side.url}/v1/chat`,
    headers,
    {
      conversation_id: setup?.json.conversation_id,
      message: `bench#${tag} [sim:think_ms=200]`,
      stream: true,
    },
    'event: text',
    'event: done',
  );
  const tap = sim.taps.get(tag);
  sim.taps.delete(tag);
  return {
    firstText: marks.firstText,
    toUpstream: tap ? tap.arrive - marks.t0 : NaN,
    upstream: tap ? tap.firstText - tap.arrive : NaN,
  };
}

const row = (label: string, xs: number[]) =>
  `${label.padEnd(34)} ${[50, 90, 99].map((p) => percentile(xs, p).toFixed(2).padStart(9)).join('')}`;

try {
  const [a, b] = await Promise.all([edge('a', treeA, 8792, 8793), edge('b', root, 8794, 8795)]);
  for (let i = 0; i < 5; i++) for (const s of [a, b]) await turn(s, `warm${i}${s === a}`);
  if (CPU_DELTA_WORDS !== undefined) await compareCpu(a, b, CPU_DELTA_WORDS);
  else if (CONCURRENT !== undefined) await compareConcurrent(a, b, CONCURRENT);
  else await compareLatency(a, b);
} finally {
  await Promise.allSettled(servers.map((s) => s.stop()));
  killAllGroups();
  await sim.close();
  execFileSync('git', ['worktree', 'remove', '--force', treeA], { cwd: root, stdio: 'ignore' });
  rmSync(tmp, { recursive: true, force: true });
}

async function compareLatency(a: Side, b: Side) {
  const out = {
    a: [] as number[],
    b: [] as number[],
    ua: [] as number[],
    ub: [] as number[],
    sa: [] as number[],
    sb: [] as number[],
  };
  const diff: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    const got: Record<string, Awaited<ReturnType<typeof turn>>> = {};
    for (const s of order) got[s] = await turn(s === 'a' ? a : b, `r${r}${s}`);
    out.a.push(got.a!.firstText);
    out.b.push(got.b!.firstText);
    out.ua.push(got.a!.toUpstream);
    out.ub.push(got.b!.toUpstream);
    out.sa.push(got.a!.upstream);
    out.sb.push(got.b!.upstream);
    diff.push(got.b!.firstText - got.a!.firstText);
  }
  const turns = NEW ? "a new conversation's first turn" : 'a continuing turn';
  console.log(`A = ${ref}, B = working tree; ${ROUNDS} rounds of ${turns}, think 200 ms (ms)`);
  console.log(`${''.padEnd(34)} ${['p50', 'p90', 'p99'].map((h) => h.padStart(9)).join('')}`);
  console.log(row('first text, A', out.a));
  console.log(row('first text, B', out.b));
  console.log(row('until upstream has it, A', out.ua));
  console.log(row('until upstream has it, B', out.ub));
  console.log(row('upstream: request → first text, A', out.sa));
  console.log(row('upstream: request → first text, B', out.sb));
  console.log(row('paired first text B − A', diff));
}
