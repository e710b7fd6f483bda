/**
 * Non-streamed turns, `connections` at a time, a fixed count per target in two interleaved
 * halves, with the CPU the target's workerd processes and this process used meanwhile.
 * thinking-edge: continuing turns on conversations created beforehand (untimed).
 */
import { range, rotate } from '../interleave';
import { fixedLoad, jsonPost, pool } from '../measure';
import { cpuMs } from '../servers';
import { round2, summarize, type Summary } from '../stats';
import {
  edgeHeaders,
  edgeTurnDone,
  type Endpoints,
  messagesBody,
  newConversation,
  upstreamHeaders,
} from '../turns';

export interface JsonLoadFigure {
  connections: number;
  turns_requested: number;
  turns_ok: number;
  errors: number;
  elapsed_s: number;
  turns_per_s: number;
  latency: Summary;
  /** Share of one core used by this Node process (client + simulator) during the load. */
  bench_process_cpu_pct: number;
  /** CPU of the target's workerd processes during the load, in % of one core. */
  workerd_cpu_pct: number;
  /** The same, runtime workerd (the Worker, local KV and Durable Objects) alone. */
  runtime_cpu_pct: number;
  /** CPU per turn of both workerd processes, in ms (short answers). */
  workerd_cpu_ms_per_turn: number;
  /** The same, runtime workerd alone. */
  runtime_cpu_ms_per_turn: number;
}

export async function jsonLoad(
  e: Endpoints,
  connections: number,
  turns: number,
): Promise<Record<'bare' | 'edge', JsonLoadFigure>> {
  const convs = await pool(range(turns), 20, () => newConversation(e.edge.url, e.edgeKey));
  const lat: Record<'bare' | 'edge', number[]> = { bare: [], edge: [] };
  const acc = {
    bare: { errors: 0, elapsed: 0, cpu: 0, runtime: 0, node: 0 },
    edge: { errors: 0, elapsed: 0, cpu: 0, runtime: 0, node: 0 },
  };
  let nextConv = 0;
  const halves = [Math.floor(turns / 2), turns - Math.floor(turns / 2)];
  for (let half = 0; half < 2; half++) {
    for (const t of rotate(['bare', 'edge'] as const, half)) {
      const server = t === 'bare' ? e.bare : e.edge;
      const roles = server.workerdRoles();
      const pids = [...roles.proxy, ...roles.runtime];
      const cpu0 = cpuMs(pids);
      const runtime0 = cpuMs(roles.runtime);
      const node0 = process.cpuUsage();
      const run = await fixedLoad(connections, halves[half]!, async () => {
        if (t === 'bare') {
          const r = await jsonPost<{ type?: unknown }>(
            `${e.bare.url}/v1/messages`,
            upstreamHeaders,
            messagesBody('bench json', false),
          );
          if (r.json.type !== 'message') throw new Error('bare: not a message');
          return r.ms;
        }
        const r = await jsonPost<{ content?: unknown }>(
          `${e.edge.url}/v1/chat`,
          edgeHeaders(e.edgeKey),
          {
            conversation_id: convs[nextConv++],
            message: 'bench json',
          },
        );
        if (!Array.isArray(r.json.content)) throw new Error('edge: no content');
        edgeTurnDone();
        return r.ms;
      });
      const node = process.cpuUsage(node0);
      lat[t].push(...run.latencies);
      acc[t].errors += run.errors;
      acc[t].elapsed += run.elapsedMs;
      acc[t].cpu += cpuMs(pids) - cpu0;
      acc[t].runtime += cpuMs(roles.runtime) - runtime0;
      acc[t].node += (node.user + node.system) / 1000;
    }
  }
  const figure = (t: 'bare' | 'edge'): JsonLoadFigure => ({
    connections,
    turns_requested: turns,
    turns_ok: lat[t].length,
    errors: acc[t].errors,
    elapsed_s: round2(acc[t].elapsed / 1000),
    turns_per_s: round2(lat[t].length / (acc[t].elapsed / 1000)),
    latency: summarize(lat[t]),
    bench_process_cpu_pct: Math.round((acc[t].node / acc[t].elapsed) * 100),
    workerd_cpu_pct: Math.round((acc[t].cpu / acc[t].elapsed) * 100),
    runtime_cpu_pct: Math.round((acc[t].runtime / acc[t].elapsed) * 100),
    workerd_cpu_ms_per_turn: round2(acc[t].cpu / lat[t].length),
    runtime_cpu_ms_per_turn: round2(acc[t].runtime / lat[t].length),
  });
  return { bare: figure('bare'), edge: figure('edge') };
}
