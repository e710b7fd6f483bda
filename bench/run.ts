/**
 * `npm run bench`: thinking-edge against the physical floor of a Worker proxy, on loopback.
 *
 * Side by side in one run: the Messages API simulator (in this process, with timing taps), a
 * bare pass-through Worker (bench/bare) and thinking-edge, both under `npx wrangler dev`, plus
 * a second thinking-edge whose storage bindings are wrapped in counters (bench/counting). The
 * three latency targets are interleaved in every round, so machine noise hits all alike.
 * Writes bench/results.json and prints a table. Bounded: fixed counts, a timeout on every
 * request and a 6-minute deadline; every child process group is killed at the end.
 *
 * This file runs the phases in order (bench/phases/); bench/config.ts has the counts and the
 * env vars: BENCH_QUICK=1 (a short smoke run), BENCH_EDGE_FROM_SRC=1 (run thinking-edge from
 * src/ under plain `wrangler dev` instead of from its dry-run bundle).
 */
import { join } from 'node:path';
import { dryRunBundle } from './bundle';
import {
  ALARM_QUIET_MS,
  C1_ROUNDS,
  CONCURRENT,
  CPU_TURNS,
  CPU_WORDS,
  DEADLINE_MS,
  FROM_SRC,
  JSON_LOADS,
  OPS_TURNS,
  QUICK,
  ROOT,
  WARMUP_ROUNDS,
} from './config';
import { type Lifecycle, startLifecycle } from './lifecycle';
import { machine, waitForQuiet, watchActivity } from './machine';
import { phaseLog } from './phase-log';
import { firstTextConcurrent } from './phases/concurrent';
import { answerTokens, cpuPerTurn } from './phases/cpu';
import { firstTextSerial } from './phases/first-text';
import { jsonLoad } from './phases/json-load';
import { opsByKind } from './phases/ops';
import { warmUp } from './phases/warm-up';
import {
  anyRequestFailed,
  type BenchReport,
  buildReport,
  type Measured,
  writeReport,
} from './report';
import { sleep } from './servers';
import { startServers } from './start-servers';
import { printTable } from './table';
import { lastEdgeTurnAt } from './turns';

async function main(life: Lifecycle) {
  const log = phaseLog();
  const quiet = await waitForQuiet();
  const activity = watchActivity();
  const info = { ...machine(), activity: quiet };
  console.log(
    `thinking-edge bench${QUICK ? ' (QUICK)' : ''}: ${info.cpu}, ${info.cores} cores, node ${info.node}`,
  );

  // The deployed bundle (also what the thinking-edge dev server runs, see config.ts).
  log.phase('bundle: wrangler deploy --dry-run (plain and --minify)…');
  const edgeDir = join(life.tmp, 'edge');
  const debugLogDir = join(life.tmp, 'wrangler-logs');
  const bundle = {
    plain: dryRunBundle(ROOT, edgeDir, false, debugLogDir),
    minified: dryRunBundle(ROOT, join(life.tmp, 'edge-min'), true, debugLogDir),
  };
  const fromBundle = bundle.plain.ok && !FROM_SRC;

  log.phase('starting simulator, bare Worker, thinking-edge, thinking-edge (counting)…');
  const e = await startServers(life, { fromBundle, edgeDir, debugLogDir });

  log.phase(`warm-up (${WARMUP_ROUNDS} rounds)…`);
  await warmUp(e);

  log.phase(`first text, concurrency 1: ${C1_ROUNDS} interleaved rounds…`);
  const c1 = await firstTextSerial(e);

  const concurrent: Measured['concurrent'] = [];
  for (const { streams, rounds, keys = 1 } of CONCURRENT) {
    const across = keys > 1 ? ` across ${keys} keys` : '';
    log.phase(`first text, ${streams} concurrent streams${across}: ${rounds} rounds…`);
    const run = await firstTextConcurrent(e, streams, rounds, keys);
    concurrent.push({ ...run, streams, rounds, keys });
  }

  const json: BenchReport['json_turns'] = {};
  for (const { connections, turns } of JSON_LOADS) {
    log.phase(`JSON turns: ${connections} connections, ${turns} turns per target…`);
    json[connections] = await jsonLoad(e, connections, turns);
  }

  // The bare Worker's CPU and the counting instance first: they give thinking-edge's pending
  // alarms (one per turn, 30 s after it) time to fire before its own CPU window.
  log.phase(`CPU, bare Worker: ${CPU_TURNS} streamed turns of ${CPU_WORDS} words…`);
  const tokens = await answerTokens(e);
  const cpuBare = await cpuPerTurn(e, 'bare', tokens);

  log.phase(`KV / Durable Object calls: ${OPS_TURNS} turns of each kind (counting instance)…`);
  const ops = await opsByKind(e);

  const wait = Math.max(0, lastEdgeTurnAt() + ALARM_QUIET_MS - performance.now());
  log.phase(
    `CPU, thinking-edge: ${CPU_TURNS} streamed turns of ${CPU_WORDS} words` +
      (wait > 0 ? ` (after ${(wait / 1000).toFixed(1)} s for its pending alarms)…` : '…'),
  );
  await sleep(wait);
  const cpuEdge = await cpuPerTurn(e, 'edge', tokens);

  log.phase('done measuring; stopping servers');
  activity.stop();
  const report = buildReport({
    machine: info,
    activity: activity.seen,
    fromBundle,
    phases: log.marks,
    c1,
    concurrent,
    json,
    cpu: { bare: cpuBare, edge: cpuEdge },
    bundle,
    ops,
  });
  if (anyRequestFailed(report)) life.keepLogs();
  writeReport(report);
  printTable(report);
}

const life = startLifecycle(DEADLINE_MS);
try {
  await main(life);
  await life.end(0);
} catch (err) {
  console.error('bench failed:', err);
  await life.end(1);
}
