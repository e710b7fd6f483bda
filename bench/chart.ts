/**
 * The bench's chart (bench/first-text.svg, shown in BENCHMARKS.md), drawn from the run's own
 * figures with nothing but SVG text: on the left the distribution of first-text times at
 * concurrency 1 (the share of turns with their first text by each time, up to the slowest
 * target's p99) for the simulator
 * direct, the bare Worker and thinking-edge; on the right first text p50 and p99 against the
 * number of concurrent streams, on one key, and as markers across many keys. People read
 * these faster than the tables.
 */
import type { Target } from './config';
import type { BenchReport } from './report';

const W = 960;
const H = 400;
const PANEL = { top: 48, bottom: 320, width: 380 };
const LEFT_X = 70;
const RIGHT_X = 540;
const COLOR: Record<Target, string> = { direct: '#7a7a7a', bare: '#2f6fb3', edge: '#d9480f' };
const NAME: Record<Target, string> = {
  direct: 'simulator direct',
  bare: 'bare Worker',
  edge: 'thinking-edge',
};
const TARGETS: Target[] = ['direct', 'bare', 'edge'];

type Report = Pick<BenchReport, 'first_text_c1' | 'first_text_concurrent' | 'machine'>;

export function firstTextChart(r: Report): string {
  const c1 = r.first_text_c1.targets;
  const all = TARGETS.flatMap((t) => c1[t].first_text_sorted_ms ?? []);
  // The x range ends at the slowest target's p99: one stray turn would squeeze the rest.
  const p99 = Math.max(...TARGETS.map((t) => c1[t].first_text.p99_ms).filter(Number.isFinite));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${LEFT_X}" y="22" font-size="14" font-weight="600">First text, 1 stream: share of turns by time</text>`,
    `<text x="${RIGHT_X}" y="22" font-size="14" font-weight="600">First text against concurrent streams</text>`,
  ];
  if (all.length > 0) out.push(...distribution(r, Math.min(...all), p99));
  out.push(...concurrency(r));
  TARGETS.forEach((t, i) => {
    const x = LEFT_X + i * 150;
    out.push(
      `<line x1="${x}" y1="${H - 14}" x2="${x + 24}" y2="${H - 14}" stroke="${COLOR[t]}" stroke-width="3"/>`,
      `<text x="${x + 30}" y="${H - 10}">${NAME[t]}</text>`,
    );
  });
  out.push(
    `<text x="${W - 10}" y="${H - 10}" text-anchor="end" fill="#555">npm run bench · ${escape(r.machine.date.slice(0, 16).replace('T', ' '))} UTC · ${escape(r.machine.git_head)}</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}

function distribution(r: Report, min: number, max: number): string[] {
  const lo = Math.floor(min / 10) * 10;
  const hi = Math.ceil(max / 10) * 10;
  const x = (ms: number) =>
    round1(LEFT_X + ((Math.min(ms, hi) - lo) / (hi - lo || 1)) * PANEL.width);
  const y = (share: number) => round1(PANEL.bottom - share * (PANEL.bottom - PANEL.top));
  const out = axes(
    LEFT_X,
    'ms',
    ticks(lo, hi).map((v) => [x(v), String(v)]),
    [0, 0.25, 0.5, 0.75, 1].map((s) => [y(s), `${s * 100}%`]),
  );
  for (const t of TARGETS) {
    const xs = r.first_text_c1.targets[t].first_text_sorted_ms ?? [];
    if (xs.length === 0) continue;
    // A step per sample: at x = the sample, the share rises by 1/n.
    const points = xs.flatMap((v, i) => [
      `${x(v)},${y(i / xs.length)}`,
      `${x(v)},${y((i + 1) / xs.length)}`,
    ]);
    out.push(
      `<polyline fill="none" stroke="${COLOR[t]}" stroke-width="2" points="${points.join(' ')}"/>`,
    );
  }
  return out;
}

/**
 * One key's phases as lines against the number of streams (log scale); a phase across many
 * keys as markers just right of its number of streams, one whisker per target from p50
 * (filled) to p99 (open), so that it reads against the one-key point beside it.
 */
function concurrency(r: Report): string[] {
  const figures = Object.values(r.first_text_concurrent);
  const oneKey = figures.filter((f) => f.keys === 1).sort((a, b) => a.streams - b.streams);
  const manyKeys = figures.filter((f) => f.keys > 1);
  const values = figures
    .flatMap((f) => TARGETS.flatMap((t) => [f[t].first_text.p50_ms, f[t].first_text.p99_ms]))
    .filter(Number.isFinite);
  if (oneKey.length === 0 || values.length === 0) return [];
  const top = Math.ceil(Math.max(...values) / 100) * 100;
  // Concurrency on a log scale: 1, 10 and 50 spread out evenly enough to read.
  const span = Math.log(Math.max(...figures.map((f) => f.streams))) || 1;
  const x = (n: number) => round1(RIGHT_X + (Math.log(n) / span) * PANEL.width);
  const y = (ms: number) => round1(PANEL.bottom - (ms / top) * (PANEL.bottom - PANEL.top));
  const out = axes(
    RIGHT_X,
    'concurrent streams',
    oneKey.map((f) => [x(f.streams), String(f.streams)]),
    ticks(0, top).map((v) => [y(v), `${v} ms`]),
  );
  for (const t of TARGETS) {
    for (const [p, dash] of [
      ['p50_ms', ''],
      ['p99_ms', ' stroke-dasharray="5 4"'],
    ] as const) {
      const points = oneKey.flatMap((f) => {
        const v = f[t].first_text[p];
        return Number.isFinite(v) ? [`${x(f.streams)},${y(v)}`] : [];
      });
      out.push(
        `<polyline fill="none" stroke="${COLOR[t]}" stroke-width="2"${dash} points="${points.join(' ')}"/>`,
      );
    }
  }
  manyKeys.forEach((f, k) => {
    const cx = (i: number) => x(f.streams) + 10 + k * 30 + i * 8;
    const tops: number[] = [];
    TARGETS.forEach((t, i) => {
      const { p50_ms: p50, p99_ms: p99 } = f[t].first_text;
      if (!Number.isFinite(p50) || !Number.isFinite(p99)) return;
      tops.push(y(p99));
      out.push(
        `<line x1="${cx(i)}" y1="${y(p50)}" x2="${cx(i)}" y2="${y(p99)}" stroke="${COLOR[t]}" stroke-width="1.5"/>`,
        diamond(cx(i), y(p50), COLOR[t], COLOR[t]),
        diamond(cx(i), y(p99), '#fff', COLOR[t]),
      );
    });
    if (tops.length > 0) {
      out.push(
        // Ended at the cluster's right edge: centred, it would run off the chart.
        `<text x="${cx(TARGETS.length - 1) + 5}" y="${Math.min(...tops) - 9}" text-anchor="end" fill="#333">${f.keys} keys</text>`,
      );
    }
  });
  const legendY = PANEL.top - 8;
  out.push(`<text x="${RIGHT_X}" y="${legendY}" fill="#555">solid p50 · dashed p99</text>`);
  if (manyKeys.length > 0) {
    const lx = RIGHT_X + 175;
    out.push(
      diamond(lx, legendY - 4, '#555', '#555'),
      `<text x="${lx + 8}" y="${legendY}" fill="#555">p50</text>`,
      diamond(lx + 40, legendY - 4, '#fff', '#555'),
      `<text x="${lx + 48}" y="${legendY}" fill="#555">p99, across ${[...new Set(manyKeys.map((f) => f.keys))].join(' / ')} keys</text>`,
    );
  }
  return out;
}

/** A small diamond marker centred on (cx, cy). */
function diamond(cx: number, cy: number, fill: string, stroke: string): string {
  const r = 4;
  const corners: Array<[number, number]> = [
    [cx, cy - r],
    [cx + r, cy],
    [cx, cy + r],
    [cx - r, cy],
  ];
  const points = corners.map(([px, py]) => `${round1(px)},${round1(py)}`);
  return `<polygon points="${points.join(' ')}" fill="${fill}" stroke="${stroke}" stroke-width="1.5"/>`;
}

/** The two axes of a panel, with labelled ticks ([position, label]). */
function axes(
  left: number,
  xTitle: string,
  xTicks: Array<[number, string]>,
  yTicks: Array<[number, string]>,
): string[] {
  const out = [
    `<line x1="${left}" y1="${PANEL.bottom}" x2="${left + PANEL.width}" y2="${PANEL.bottom}" stroke="#333"/>`,
    `<line x1="${left}" y1="${PANEL.top}" x2="${left}" y2="${PANEL.bottom}" stroke="#333"/>`,
    `<text x="${left + PANEL.width / 2}" y="${PANEL.bottom + 34}" text-anchor="middle">${xTitle}</text>`,
  ];
  for (const [px, label] of xTicks) {
    out.push(
      `<line x1="${px}" y1="${PANEL.bottom}" x2="${px}" y2="${PANEL.bottom + 4}" stroke="#333"/>`,
      `<text x="${px}" y="${PANEL.bottom + 16}" text-anchor="middle">${label}</text>`,
    );
  }
  for (const [py, label] of yTicks) {
    out.push(
      `<line x1="${left}" y1="${py}" x2="${left + PANEL.width}" y2="${py}" stroke="#eee"/>`,
      `<text x="${left - 6}" y="${py + 4}" text-anchor="end">${label}</text>`,
    );
  }
  return out;
}

/** About five round ticks between lo and hi. */
function ticks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 5;
  const step = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000].find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(v);
  return out;
}

const round1 = (v: number) => Math.round(v * 10) / 10;
const escape = (s: string) => s.replace(/[<&>"]/g, (c) => `&#${c.charCodeAt(0)};`);
