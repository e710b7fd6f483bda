/**
 * What `npm run bench` runs: ports, counts, the simulated think time, the deadline and the
 * three latency targets. Env: BENCH_QUICK=1 (small counts: a smoke run), BENCH_EDGE_FROM_SRC=1
 * (thinking-edge under plain `wrangler dev` from src/ instead of its dry-run bundle).
 */
import { fileURLToPath } from 'node:url';

export const QUICK = process.env.BENCH_QUICK === '1';
export const FROM_SRC = process.env.BENCH_EDGE_FROM_SRC === '1';

/** The repository's root (with a trailing slash). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const PORTS = { sim: 8781, bare: 8782, edge: 8783, counting: 8784 };
/** Each `wrangler dev` also opens a devtools inspector port: fixed too, so that they never race. */
export const INSPECTOR_PORTS = { bare: 8785, edge: 8786, counting: 8789 };

export const UPSTREAM_KEY = 'bench-upstream-key';
export const ADMIN = 'bench-admin-token';

/** The model named in results.json (the simulator answers for any). */
export const MODEL = 'claude-sonnet-5';
/** Simulated think time of the first-text turns (`[sim:think_ms=…]`). */
export const THINK_MS = 200;
export const WARMUP_ROUNDS = QUICK ? 3 : 10;
/** Rounds at concurrency 1: one turn per target each. */
export const C1_ROUNDS = QUICK ? 12 : 120;
/**
 * A concurrent phase: `streams` turns at once per target, `rounds` times. thinking-edge's
 * conversations are spread over `keys` keys (each created and continued with its own key):
 * the default, one key, puts every stream on the same key's limiter.
 */
export interface ConcurrentPhase {
  streams: number;
  rounds: number;
  keys?: number;
}
export const CONCURRENT: ConcurrentPhase[] = QUICK
  ? [
      { streams: 10, rounds: 1 },
      { streams: 50, rounds: 1 },
      { streams: 50, rounds: 1, keys: 50 },
    ]
  : [
      { streams: 10, rounds: 10 },
      { streams: 50, rounds: 4 },
      { streams: 50, rounds: 4, keys: 50 },
    ];
/** Keys minted on thinking-edge besides its main one, for the phases across many keys. */
export const EXTRA_KEYS = Math.max(
  0,
  ...CONCURRENT.map((p) => p.keys ?? 1).filter((keys) => keys > 1),
);
/** Non-streamed turns: `turns` per target, `connections` at a time. */
export const JSON_LOADS = QUICK
  ? [
      { connections: 10, turns: 60 },
      { connections: 50, turns: 100 },
    ]
  : [
      { connections: 10, turns: 200 },
      { connections: 50, turns: 400 },
    ];
/** Streamed turns per target in the CPU windows, each answer `[sim:words=CPU_WORDS]`. */
export const CPU_TURNS = QUICK ? 20 : 60;
/** 750 words: about 1,000 text tokens as the simulator counts them. */
export const CPU_WORDS = 750;
/**
 * Words per `text_delta` in the CPU windows (`[sim:delta_words=N]`): the simulator's default,
 * 2 (one SSE event per network chunk: the per-chunk costs at their worst, and the figure
 * earlier runs reported), and 6, a chunking like the real Messages API's (the SDK's wire
 * captures show 5–8 words per delta).
 */
export const CPU_DELTA_WORDS = { simulator: 2, api: 6 } as const;
/** Counted turns of each kind on the counting instance. */
export const OPS_TURNS = QUICK ? 4 : 20;
export const DEADLINE_MS = 6 * 60_000;

/**
 * Every thinking-edge turn leaves a Durable Object alarm that fires 30 s later (the keep-alive
 * of the object that runs the turn). Its CPU windows must not catch the alarms of earlier
 * phases, so the first starts this long after the last turn (and the second follows at once).
 */
export const ALARM_QUIET_MS = 32_000;

/** The latency targets, interleaved in every round. */
export type Target = 'direct' | 'bare' | 'edge';
export const TARGETS: Target[] = ['direct', 'bare', 'edge'];
export const LABEL: Record<Target, string> = {
  direct: 'simulator direct',
  bare: 'bare Worker (dev)',
  edge: 'thinking-edge (dev)',
};
