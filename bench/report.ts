/**
 * bench/results.json: its shape (`BenchReport`, which the printed table reads too), built from
 * the phases' results, and written. Times in ms unless a field's name says otherwise.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BundleFigure } from './bundle';
import { firstTextChart } from './chart';
import {
  C1_ROUNDS,
  CPU_DELTA_WORDS,
  MODEL,
  QUICK,
  ROOT,
  type Target,
  TARGETS,
  THINK_MS,
} from './config';
import {
  type ConcurrentFigure,
  concurrentFigure,
  concurrentKey,
  excess,
  type FirstByteFigure,
  firstByteChecks,
  type PairedExcess,
  pairedExcess,
  type TargetFigure,
  targetFigures,
} from './figures';
import type { ActivitySeen, MachineInfo } from './machine';
import type { PhaseMark } from './phase-log';
import type { ConcurrentRun } from './phases/concurrent';
import type { CpuFigure } from './phases/cpu';
import type { JsonLoadFigure } from './phases/json-load';
import type { OpsFigure, OpsKind } from './phases/ops';
import { round2 } from './stats';
import { type TargetCheck, targetChecks } from './targets';
import type { Collected } from './turns';

export interface BenchReport {
  /** `activity`: whether other runs were active at the start (the bench waits up to 45 s). */
  machine: MachineInfo & { activity: string };
  /** Other test runs / dev servers seen during the run (sampled every 5 s): noise. */
  foreign_activity_during_run: ActivitySeen;
  setup: {
    command: string;
    quick: boolean;
    model: string;
    think_ms: number;
    thinking_edge_runs: string;
    loopback: boolean;
    upstream: string;
    percentiles: string;
    time_unit: string;
  };
  targets: TargetCheck[];
  phases: PhaseMark[];
  first_text_c1: {
    rounds: number;
    directives: string;
    note: string;
    targets: Record<Target, TargetFigure>;
    excess_over_bare_ms: { p50: number; p90: number; p99: number };
    paired_excess_over_bare_ms: PairedExcess;
  };
  first_byte: FirstByteFigure;
  /**
   * By number of streams: '1' (the concurrency-1 rounds), then each of CONCURRENT; a phase
   * across many keys as '50 (50 keys)' (`concurrentKey`).
   */
  first_text_concurrent: Record<string, ConcurrentFigure>;
  /** By number of connections. */
  json_turns: Record<string, Record<'bare' | 'edge', JsonLoadFigure>>;
  /** At the simulator's chunking, 2 words per text delta (the figure of earlier runs). */
  cpu: CpuComparison;
  /** At a chunking like the real Messages API's (`CPU_DELTA_WORDS.api` words per delta). */
  cpu_api_chunking: CpuComparison & { delta_words: number };
  bundle: { plain: BundleFigure; minified: BundleFigure };
  ops_measured: Record<OpsKind, OpsFigure>;
}

export interface CpuComparison {
  bare: CpuFigure;
  edge: CpuFigure;
  edge_excess_over_bare_ms_per_turn: number;
  runtime_excess_over_bare_ms_per_turn: number;
}

/** What the phases measured, as `bench/run.ts` collected it. */
export interface Measured {
  machine: BenchReport['machine'];
  activity: ActivitySeen;
  fromBundle: boolean;
  phases: PhaseMark[];
  c1: Collected;
  concurrent: Array<ConcurrentRun & { streams: number; rounds: number; keys: number }>;
  json: BenchReport['json_turns'];
  /** By words per text delta. */
  cpu: Record<'simulator' | 'api', { bare: CpuFigure; edge: CpuFigure }>;
  bundle: BenchReport['bundle'];
  ops: BenchReport['ops_measured'];
}

function cpuComparison({ bare, edge }: { bare: CpuFigure; edge: CpuFigure }): CpuComparison {
  return {
    bare,
    edge,
    edge_excess_over_bare_ms_per_turn: round2(
      edge.workerd_cpu_ms_per_turn - bare.workerd_cpu_ms_per_turn,
    ),
    // Judged on the runtime workerd: the proxy workerd is wrangler's own ProxyWorker, which
    // the edge does not have, and its CPU (the larger, noisier share) drowns the difference.
    runtime_excess_over_bare_ms_per_turn: round2(
      edge.runtime_cpu_ms_per_turn - bare.runtime_cpu_ms_per_turn,
    ),
  };
}

export function buildReport(m: Measured): BenchReport {
  const figures: Omit<BenchReport, 'targets'> = {
    machine: m.machine,
    foreign_activity_during_run: m.activity,
    setup: {
      command: 'npm run bench',
      quick: QUICK,
      model: MODEL,
      think_ms: THINK_MS,
      thinking_edge_runs: m.fromBundle
        ? 'the wrangler deploy --dry-run bundle under `npx wrangler dev <bundle> --no-bundle`'
        : '`npx wrangler dev` from src/',
      loopback: true,
      upstream: 'Messages API simulator in the bench process (@hono/node-server)',
      percentiles: 'nearest rank',
      time_unit: 'ms',
    },
    phases: m.phases,
    first_text_c1: {
      rounds: C1_ROUNDS,
      directives: `[sim:think_ms=${THINK_MS}]`,
      note: 'thinking-edge continues a fresh one-turn conversation each time (KV read included)',
      targets: targetFigures(m.c1),
      excess_over_bare_ms: { p50: excess(m.c1, 50), p90: excess(m.c1, 90), p99: excess(m.c1, 99) },
      paired_excess_over_bare_ms: pairedExcess(m.c1),
    },
    first_byte: firstByteChecks(m.c1),
    first_text_concurrent: Object.fromEntries([
      [concurrentKey(1, 1), concurrentFigure(m.c1, 1, C1_ROUNDS, 1)],
      ...m.concurrent.map(({ c, streams, rounds, keys, stored }) => [
        concurrentKey(streams, keys),
        concurrentFigure(c, streams, rounds, keys, stored),
      ]),
    ]),
    json_turns: m.json,
    cpu: cpuComparison(m.cpu.simulator),
    cpu_api_chunking: { delta_words: CPU_DELTA_WORDS.api, ...cpuComparison(m.cpu.api) },
    bundle: m.bundle,
    ops_measured: m.ops,
  };
  const { machine, foreign_activity_during_run, setup, ...rest } = figures;
  // The key order of results.json: the targets right after the set-up.
  return { machine, foreign_activity_during_run, setup, targets: targetChecks(figures), ...rest };
}

/**
 * Whether any measured request failed, or an edge turn was not stored (the run then keeps
 * wrangler's logs).
 */
export function anyRequestFailed(r: BenchReport): boolean {
  return (
    Object.values(r.first_text_concurrent).some(
      (v) =>
        TARGETS.some((t) => v[t].errors > 0) ||
        (v.stored !== undefined && v.stored.stored < v.stored.total),
    ) ||
    Object.values(r.json_turns).some((j) => j.bare.errors + j.edge.errors > 0) ||
    [r.cpu, r.cpu_api_chunking].some((c) => c.bare.errors + c.edge.errors > 0)
  );
}

export function writeReport(r: BenchReport): void {
  writeFileSync(join(ROOT, 'bench/results.json'), JSON.stringify(r, null, 2) + '\n');
  writeFileSync(join(ROOT, 'bench/first-text.svg'), firstTextChart(r));
}
