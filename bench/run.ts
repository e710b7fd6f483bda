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
  CPU_DELTA_WORDS,
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
import { type AnswerShape, answerShape, cpuPerTurn } from './phases/cpu';
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

  // CPU at two chunkings of the same answer: the simulator's 2 words per text delta and 6, like
  // the real API's. The bare Worker's windows and the counting instance first: they give
  // thinking-edge's pending alarms (one per turn, 30 s after it) time to fire before its own
  // windows. Those two run back to back, both ending within 30 s of the first one's start
  // (about 15 s in a full run), so that neither catches the other's alarms;
  // `alarms_may_overlap` says if they did not fit.
  const shape2 = await answerShape(e, CPU_DELTA_WORDS.simulator);
  const shape6 = await answerShape(e, CPU_DELTA_WORDS.api);
  const cpuPhase = (who: string, shape: AnswerShape) =>
    `CPU, ${who}: ${CPU_TURNS} streamed turns of ${CPU_WORDS} words, ` +
    `${shape.delta_words} words per text delta`;
  log.phase(`${cpuPhase('bare Worker', shape2)}…`);
  const bare2 = await cpuPerTurn(e, 'bare', shape2);
  log.phase(`${cpuPhase('bare Worker', shape6)}…`);
  const bare6 = await cpuPerTurn(e, 'bare', shape6);

  log.phase(`KV / Durable Object calls: ${OPS_TURNS} turns of each kind (counting instance)…`);
  const ops = await opsByKind(e);

  const wait = Math.max(0, lastEdgeTurnAt() + ALARM_QUIET_MS - performance.now());
  log.phase(
    cpuPhase('thinking-edge', shape2) +
      (wait > 0 ? ` (after ${(wait / 1000).toFixed(1)} s for its pending alarms)…` : '…'),
  );
  await sleep(wait);
  const alarmsSince = performance.now();
  const edge2 = await cpuPerTurn(e, 'edge', shape2, alarmsSince);
  log.phase(`${cpuPhase('thinking-edge', shape6)}…`);
  const edge6 = await cpuPerTurn(e, 'edge', shape6, alarmsSince);

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
    cpu: { simulator: { bare: bare2, edge: edge2 }, api: { bare: bare6, edge: edge6 } },
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
