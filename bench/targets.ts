/**
 * The project's performance targets, each judged on the run's figures: the seven of the
 * issue, the 50-stream one across 50 keys too, and CPU at a chunking like the real API's.
 */
import { allStored, type ConcurrentFigure, concurrentKey } from './figures';
import { sign } from './format';
import type { BenchReport, CpuComparison } from './report';
import { round2 } from './stats';

export interface TargetCheck {
  figure: string;
  target: string;
  value: string;
  met: boolean;
}

export function targetChecks(r: Omit<BenchReport, 'targets'>): TargetCheck[] {
  const ex = r.first_text_c1.excess_over_bare_ms;
  const fb = r.first_byte;
  const bundle = r.bundle.plain;
  const cont = r.ops_measured['continuing-sse'];
  return [
    {
      figure: 'first text p50, excess over the bare Worker (concurrency 1)',
      target: '≤ +1.0 ms',
      value: `${sign(ex.p50)} ms`,
      met: ex.p50 <= 1.0,
    },
    {
      figure: 'first text p90, excess over the bare Worker (concurrency 1)',
      target: '≤ +3 ms',
      value: `${sign(ex.p90)} ms`,
      met: ex.p90 <= 3,
    },
    {
      figure: 'first byte (conversation event) before the upstream answers (its first text)',
      target: 'every time',
      value: `${fb.before_upstream_first_text}/${fb.samples}`,
      met: fb.samples > 0 && fb.before_upstream_first_text === fb.samples,
    },
    concurrentCheck(
      'first text p99 at 50 concurrent streams, thinking-edge ÷ bare Worker',
      r.first_text_concurrent[concurrentKey(50, 1)],
    ),
    concurrentCheck(
      'first text p99 at 50 concurrent streams across 50 keys, thinking-edge ÷ bare Worker',
      r.first_text_concurrent[concurrentKey(50, 50)],
    ),
    {
      figure:
        'bundle size, gzip (wrangler deploy --dry-run, as deployed: minify = true in wrangler.toml)',
      target: '≤ 100 KiB',
      value: bundle.ok
        ? `${bundle.gzip_kib} KiB (minified: ${r.bundle.minified.gzip_kib} KiB)`
        : 'dry-run failed',
      met: bundle.ok && bundle.gzip_kib <= 100,
    },
    cpuCheck(
      'CPU per turn of a 1,000-token answer (runtime workerd, excess over the bare Worker)',
      r.cpu,
    ),
    cpuCheck(
      `CPU per turn of a 1,000-token answer at ${r.cpu_api_chunking.delta_words} words per text delta, a chunking like the real API's (runtime workerd, excess over the bare Worker)`,
      r.cpu_api_chunking,
    ),
    {
      figure: 'KV operations per continuing turn (measured, counting instance)',
      target: '1 read + 1 write',
      value: `${cont.kv_reads_per_turn} reads + ${cont.kv_writes_per_turn} writes`,
      met: cont.kv_reads_per_turn <= 1 && cont.kv_writes_per_turn <= 1,
    },
  ];
}

/** edge ÷ bare p99 ≤ 2×, and every edge turn of the phase read back as stored. */
function concurrentCheck(figure: string, c: ConcurrentFigure | undefined): TargetCheck {
  const ratio = c?.edge_over_bare_p99_ratio ?? NaN;
  const p99 = (t: 'bare' | 'edge') => round2(c?.[t].first_text.p99_ms ?? NaN);
  const stored = c?.stored ? `${c.stored.stored}/${c.stored.total}` : 'n/a';
  return {
    figure,
    target: '≤ 2×, every turn stored',
    value: `${ratio}× (${p99('edge')} vs ${p99('bare')} ms); stored ${stored}`,
    met: ratio <= 2 && allStored(c),
  };
}

function cpuCheck(figure: string, c: CpuComparison): TargetCheck {
  return {
    figure,
    target: '≤ 1 ms',
    value: `${c.runtime_excess_over_bare_ms_per_turn} ms (${c.edge.runtime_cpu_ms_per_turn} vs ${c.bare.runtime_cpu_ms_per_turn} ms; all workerd: ${sign(c.edge_excess_over_bare_ms_per_turn)} ms)`,
    met: c.runtime_excess_over_bare_ms_per_turn <= 1,
  };
}
