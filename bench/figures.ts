/** The first-text phases' samples turned into results.json figures (ms, nearest rank). */
import { LABEL, type Target, THINK_MS } from './config';
import { percentile, round2, summarize, type Summary } from './stats';
import type { StoredFigure } from './phases/concurrent';
import type { Collected, Sample } from './turns';

/** One target at concurrency 1: its latencies, and where the time went (simulator taps). */
export interface TargetFigure {
  label: string;
  errors: number;
  last_error?: string;
  first_text: Summary;
  /** Every first-text time, sorted (for the chart's distribution). */
  first_text_sorted_ms?: number[];
  first_byte: Summary;
  /** thinking-edge only: its first event, sent before Claude is called. */
  conversation_event?: Summary;
  whole_turn: Summary;
  until_upstream_request: Summary;
  upstream_request_to_first_text: Summary;
  upstream_first_text_to_client: Summary;
}

export function targetFigures(c: Collected): Record<Target, TargetFigure> {
  const figure = (t: Target): TargetFigure => {
    const s = c.samples[t];
    const up = s.filter((x) => x.upstream);
    return {
      label: LABEL[t],
      errors: c.errors[t],
      ...(c.lastError[t] ? { last_error: c.lastError[t] } : {}),
      first_text: summarize(s.map((x) => x.marks.firstText)),
      first_text_sorted_ms: s
        .map((x) => round2(x.marks.firstText))
        .filter(Number.isFinite)
        .sort((a, b) => a - b),
      first_byte: summarize(s.map((x) => x.marks.firstByte)),
      ...(t === 'edge'
        ? { conversation_event: summarize(s.map((x) => x.marks.conversation)) }
        : {}),
      whole_turn: summarize(s.map((x) => x.marks.end)),
      // Where the time goes, from the simulator's taps (same clock as the client):
      until_upstream_request: summarize(up.map((x) => x.upstream!.arrive)),
      upstream_request_to_first_text: summarize(
        up.map((x) => x.upstream!.firstText - x.upstream!.arrive),
      ),
      upstream_first_text_to_client: summarize(
        up.map((x) => x.marks.firstText - x.upstream!.firstText),
      ),
    };
  };
  return { direct: figure('direct'), bare: figure('bare'), edge: figure('edge') };
}

const firstTexts = (c: Collected, t: Target) => c.samples[t].map((x) => x.marks.firstText);

/** thinking-edge's first-text percentile minus the bare Worker's. */
export function excess(c: Collected, p: number): number {
  return round2(percentile(firstTexts(c, 'edge'), p) - percentile(firstTexts(c, 'bare'), p));
}

export interface PairedExcess {
  samples: number;
  p50: number;
  p90: number;
  mean: number;
}

/** Rounds where both succeeded: the edge's first text minus the bare Worker's, same round. */
export function pairedExcess(c: Collected): PairedExcess {
  const bare = new Map(c.samples.bare.map((s) => [s.round, s.marks.firstText]));
  const diffs = c.samples.edge
    .filter((s) => bare.has(s.round))
    .map((s) => s.marks.firstText - bare.get(s.round)!);
  const s = summarize(diffs);
  return { samples: s.samples, p50: s.p50_ms, p90: s.p90_ms, mean: s.mean_ms };
}

/** When thinking-edge's first byte (its `conversation` event) came, against the upstream's. */
export interface FirstByteFigure {
  samples: number;
  think_ms: number;
  conversation_event: Summary;
  before_upstream_first_text: number;
  before_think_time_elapsed: number;
  before_upstream_first_byte: number;
  before_upstream_received_request: number;
  margin_to_upstream_first_text: Summary;
}

export function firstByteChecks(c: Collected): FirstByteFigure {
  const s = c.samples.edge.filter((x) => x.upstream && !Number.isNaN(x.marks.conversation));
  const n = s.length;
  const count = (f: (x: Sample) => boolean) => s.filter(f).length;
  return {
    samples: n,
    think_ms: THINK_MS,
    conversation_event: summarize(s.map((x) => x.marks.conversation)),
    before_upstream_first_text: count((x) => x.marks.conversation < x.upstream!.firstText),
    before_think_time_elapsed: count((x) => x.marks.conversation < THINK_MS),
    before_upstream_first_byte: count((x) => x.marks.conversation < x.upstream!.firstByte),
    before_upstream_received_request: count((x) => x.marks.conversation < x.upstream!.arrive),
    margin_to_upstream_first_text: summarize(
      s.map((x) => x.upstream!.firstText - x.marks.conversation),
    ),
  };
}

export interface ConcurrentTargetFigure {
  errors: number;
  last_error?: string;
  first_text: Summary;
}

/**
 * First text at `streams` concurrent streams, by target; thinking-edge's conversations on
 * `keys` keys. `stored`: the edge turns read back as stored (absent at concurrency 1, which
 * does not check).
 */
export type ConcurrentFigure = {
  streams: number;
  keys: number;
  rounds: number;
  stored?: StoredFigure;
} & Record<Target, ConcurrentTargetFigure> & { edge_over_bare_p99_ratio: number };

/** A concurrent figure's key in results.json: `"50"` on one key, `"50 (50 keys)"` across 50. */
export const concurrentKey = (streams: number, keys: number) =>
  keys > 1 ? `${streams} (${keys} keys)` : String(streams);

/** Whether every edge turn of the phase was read back as stored (and there were some). */
export const allStored = (f: ConcurrentFigure | undefined) =>
  f?.stored !== undefined && f.stored.total > 0 && f.stored.stored === f.stored.total;

export function concurrentFigure(
  c: Collected,
  streams: number,
  rounds: number,
  keys: number,
  stored?: StoredFigure,
): ConcurrentFigure {
  const byTarget = (t: Target): ConcurrentTargetFigure => ({
    errors: c.errors[t],
    ...(c.lastError[t] ? { last_error: c.lastError[t] } : {}),
    first_text: summarize(firstTexts(c, t)),
  });
  return {
    streams,
    keys,
    rounds,
    ...(stored ? { stored } : {}),
    direct: byTarget('direct'),
    bare: byTarget('bare'),
    edge: byTarget('edge'),
    edge_over_bare_p99_ratio: round2(
      percentile(firstTexts(c, 'edge'), 99) / percentile(firstTexts(c, 'bare'), 99),
    ),
  };
}
