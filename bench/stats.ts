/**
 * The statistics of every measurement in this repository (bench/ and scripts/): nearest-rank
 * percentiles and the summary written to bench/results.json. No I/O, no imports, so that
 * both the benchmark and the scripts can use it.
 */

/** Rounds to two decimals (results.json and the printed tables). */
export const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Nearest-rank percentile: the smallest sample with at least p % of the samples at or below
 * it. NaN when there are no samples.
 */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ]!;
}

/** Samples in ms: count, min, nearest-rank p50 / p90 / p99, max and mean (finite ones only). */
export interface Summary {
  samples: number;
  min_ms: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
}

export function summarize(xs: readonly number[]): Summary {
  const ok = xs.filter((x) => Number.isFinite(x));
  return {
    samples: ok.length,
    min_ms: round2(Math.min(...ok)),
    p50_ms: round2(percentile(ok, 50)),
    p90_ms: round2(percentile(ok, 90)),
    p99_ms: round2(percentile(ok, 99)),
    max_ms: round2(Math.max(...ok)),
    mean_ms: round2(ok.reduce((a, b) => a + b, 0) / ok.length),
  };
}
