/** The project's seven performance targets, each judged on the run's figures. */
import { sign } from './format';
import type { BenchReport } from './report';
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
  const c50 = r.first_text_concurrent['50'];
  const ratio50 = c50?.edge_over_bare_p99_ratio ?? NaN;
  const p99At50 = (t: 'bare' | 'edge') => c50?.[t].first_text.p99_ms ?? NaN;
  const { bare: cpuBare, edge: cpuEdge } = r.cpu;
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
    {
      figure: 'first text p99 at 50 concurrent streams, thinking-edge ÷ bare Worker',
      target: '≤ 2×',
      value: `${ratio50}× (${round2(p99At50('edge'))} vs ${round2(p99At50('bare'))} ms)`,
      met: ratio50 <= 2,
    },
    {
      figure:
        'bundle size, gzip (wrangler deploy --dry-run, as deployed: minify = true in wrangler.toml)',
      target: '≤ 100 KiB',
      value: bundle.ok
        ? `${bundle.gzip_kib} KiB (minified: ${r.bundle.minified.gzip_kib} KiB)`
        : 'dry-run failed',
      met: bundle.ok && bundle.gzip_kib <= 100,
    },
    {
      figure: 'CPU per turn of a 1,000-token answer (runtime workerd, excess over the bare Worker)',
      target: '≤ 1 ms',
      value: `${r.cpu.runtime_excess_over_bare_ms_per_turn} ms (${cpuEdge.runtime_cpu_ms_per_turn} vs ${cpuBare.runtime_cpu_ms_per_turn} ms; all workerd: +${r.cpu.edge_excess_over_bare_ms_per_turn} ms)`,
      met: r.cpu.runtime_excess_over_bare_ms_per_turn <= 1,
    },
    {
      figure: 'KV operations per continuing turn (measured, counting instance)',
      target: '1 read + 1 write',
      value: `${cont.kv_reads_per_turn} reads + ${cont.kv_writes_per_turn} writes`,
      met: cont.kv_reads_per_turn <= 1 && cont.kv_writes_per_turn <= 1,
    },
  ];
}
