/**
 * KV and Durable Object calls per turn, counted by the wrapped instance (bench/counting):
 * its `/__bench/ops` counters read before and after each turn.
 */
import { OPS_TURNS } from '../config';
import { jsonPost, streamMarks } from '../measure';
import { sleep } from '../servers';
import { round2 } from '../stats';
import { edgeHeaders, type Endpoints, newConversation } from '../turns';

export type OpsKind = 'continuing-sse' | 'continuing-json' | 'new-json';

type Ops = Record<string, number>;

export interface OpsFigure {
  turns: number;
  /** Calls per turn, by binding and method (mean; `constant` when every turn agreed). */
  per_turn: Record<string, number>;
  constant: boolean;
  /** Mean ms from each call to its settlement, per turn, by binding and method (ms resolution). */
  ms_per_turn: Record<string, number>;
  kv_reads_per_turn: number;
  kv_writes_per_turn: number;
  do_calls_per_turn: number;
}

async function readOps(url: string): Promise<{ counts: Ops; waits: Ops }> {
  const res = await fetch(`${url}/__bench/ops`, { signal: AbortSignal.timeout(10_000) });
  return (await res.json()) as { counts: Ops; waits: Ops };
}

const diffOf = (after: Ops, before: Ops): Ops => {
  const out: Ops = {};
  for (const [k, v] of Object.entries(after)) {
    if (v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0);
  }
  return out;
};

async function opsPerTurn(e: Endpoints, kind: OpsKind): Promise<OpsFigure> {
  const url = e.counting.url;
  const counts: Ops[] = [];
  const waits: Ops[] = [];
  for (let i = 0; i < OPS_TURNS; i++) {
    const conv = kind === 'new-json' ? undefined : await newConversation(url, e.countingKey);
    await sleep(20);
    const before = await readOps(url);
    if (kind === 'continuing-sse') {
      await streamMarks(
        `${url}/v1/chat`,
        edgeHeaders(e.countingKey),
        { conversation_id: conv, message: 'bench ops', stream: true },
        'event: text',
        'event: done',
      );
    } else {
      await jsonPost(`${url}/v1/chat`, edgeHeaders(e.countingKey), {
        ...(conv ? { conversation_id: conv } : {}),
        message: 'bench ops',
      });
    }
    await sleep(50);
    const after = await readOps(url);
    counts.push(diffOf(after.counts, before.counts));
    waits.push(diffOf(after.waits, before.waits));
  }
  const names = [...new Set(counts.flatMap((d) => Object.keys(d)))].sort();
  const perTurn: Record<string, number> = {};
  const msPerTurn: Record<string, number> = {};
  let constant = true;
  const mean = (xs: number[]) => round2(xs.reduce((a, b) => a + b, 0) / xs.length);
  for (const n of names) {
    const xs = counts.map((d) => d[n] ?? 0);
    perTurn[n] = mean(xs);
    msPerTurn[n] = mean(waits.map((d) => d[n] ?? 0));
    if (Math.min(...xs) !== Math.max(...xs)) constant = false;
  }
  const sum = (re: RegExp) =>
    round2(
      Object.entries(perTurn)
        .filter(([k]) => re.test(k))
        .reduce((a, [, v]) => a + v, 0),
    );
  return {
    turns: counts.length,
    per_turn: perTurn,
    constant,
    ms_per_turn: msPerTurn,
    kv_reads_per_turn: sum(/^kv .*\.(get|getWithMetadata|list)$/),
    kv_writes_per_turn: sum(/^kv .*\.(put|delete)$/),
    do_calls_per_turn: sum(/^do /),
  };
}

/** Every kind in turn, on the counting instance. */
export async function opsByKind(e: Endpoints): Promise<Record<OpsKind, OpsFigure>> {
  return {
    'continuing-sse': await opsPerTurn(e, 'continuing-sse'),
    'continuing-json': await opsPerTurn(e, 'continuing-json'),
    'new-json': await opsPerTurn(e, 'new-json'),
  };
}
