/**
 * CPU per streamed turn: workerd's utime + stime (from /proc) across CPU_TURNS streamed turns
 * of a `[sim:words=CPU_WORDS]` answer (about 1,000 text tokens) cut into text deltas of
 * `[sim:delta_words=N]` words, one turn at a time, with the idle rate measured just before
 * subtracted.
 */
import { CPU_TURNS, CPU_WORDS } from '../config';
import { range } from '../interleave';
import { jsonPost, pool, streamMarks } from '../measure';
import { cpuMs, cpuTickMs, sleep } from '../servers';
import { round2 } from '../stats';
import {
  type Endpoints,
  messagesBody,
  newConversation,
  streamTurn,
  upstreamHeaders,
} from '../turns';

export interface CpuFigure {
  turns: number;
  errors: number;
  answer_text_tokens: number;
  /** Words per `text_delta` (`[sim:delta_words=N]`), and the text deltas that makes a turn. */
  delta_words: number;
  text_deltas_per_turn: number;
  wall_s: number;
  /** Resolution of the /proc counters. */
  tick_ms: number;
  /** Both workerd processes of the `wrangler dev`, idle CPU over the same wall time subtracted. */
  workerd_cpu_ms_per_turn: number;
  workerd_cpu_ms_per_turn_raw: number;
  workerd_idle_cpu_ms: number;
  /** The runtime workerd alone: the Worker, with local KV and Durable Objects (idle subtracted). */
  runtime_cpu_ms_per_turn: number;
  runtime_cpu_ms_per_turn_raw: number;
  /** The proxy workerd alone: wrangler's ProxyWorker on the dev port (idle subtracted). */
  proxy_cpu_ms_per_turn: number;
  /** The rest of the `wrangler dev` tree (npx, wrangler's node, esbuild), idle subtracted. */
  wrangler_node_cpu_ms_per_turn: number;
  /**
   * Whether 30 s keep-alive alarms of thinking-edge's turns could have fired inside the window
   * (it would then include some alarm CPU): those of its own conversations, and of the edge
   * windows just before it (see `cpuPerTurn`'s `alarmsSince`).
   */
  alarms_may_overlap: boolean;
}

/** The answer of a CPU window, as the simulator sends it. */
export interface AnswerShape {
  delta_words: number;
  text_tokens: number;
  text_deltas: number;
}

/** The directives of a CPU window's turns. */
const cpuDirectives = (deltaWords: number) =>
  `[sim:words=${CPU_WORDS}] [sim:delta_words=${deltaWords}]`;

/**
 * The answer at `deltaWords` words per text delta: its text tokens (the simulator's own usage)
 * and its text deltas (one streamed answer, straight from the simulator, counted).
 */
export async function answerShape(e: Endpoints, deltaWords: number): Promise<AnswerShape> {
  const directives = cpuDirectives(deltaWords);
  const { json } = await jsonPost<{
    usage: { output_tokens: number; output_tokens_details?: { thinking_tokens?: number } };
  }>(`${e.sim.url}/v1/messages`, upstreamHeaders, messagesBody(`tokens ${directives}`, false));
  const { body } = await streamMarks(
    `${e.sim.url}/v1/messages`,
    upstreamHeaders,
    messagesBody(`deltas ${directives}`, true),
    '"text_delta"',
    'message_stop',
    true,
  );
  return {
    delta_words: deltaWords,
    text_tokens:
      json.usage.output_tokens - (json.usage.output_tokens_details?.thinking_tokens ?? 0),
    text_deltas: body.match(/"text_delta"/g)?.length ?? 0,
  };
}

/**
 * `answer`: the window's answer (`answerShape`), reported with the figure. `alarmsSince`
 * (edge only): when the earliest edge turn whose keep-alive alarm may still be pending was
 * sent — by default this window's own set-up; for a window right after another edge window,
 * that window's start, since its turns' alarms come due 30 s after them.
 */
export async function cpuPerTurn(
  e: Endpoints,
  target: 'bare' | 'edge',
  answer: AnswerShape,
  alarmsSince?: number,
): Promise<CpuFigure> {
  const server = target === 'bare' ? e.bare : e.edge;
  const setupStart = performance.now();
  const convs =
    target === 'edge'
      ? await pool(range(CPU_TURNS), 8, () => newConversation(e.edge.url, e.edgeKey))
      : [];
  await sleep(500);
  const { proxy, runtime } = server.workerdRoles();
  const workerd = [...proxy, ...runtime];
  const others = server.treePids().filter((p) => !workerd.includes(p));
  const read = () => ({ proxy: cpuMs(proxy), runtime: cpuMs(runtime), others: cpuMs(others) });
  // Idle rates first, over 1 s.
  const idle0 = read();
  const idleStart = performance.now();
  await sleep(1000);
  const idle1 = read();
  const idleWall = performance.now() - idleStart;

  const c0 = read();
  const start = performance.now();
  let errors = 0;
  for (let i = 0; i < CPU_TURNS; i++) {
    try {
      await streamTurn(
        e,
        target,
        `cpu-${target}-${answer.delta_words}-${i}`,
        cpuDirectives(answer.delta_words),
        convs[i],
      );
    } catch {
      errors++;
    }
  }
  await sleep(300); // work after the last byte (log line, anything in waitUntil) finishes
  const c1 = read();
  const wall = performance.now() - start;
  const turns = CPU_TURNS - errors;
  const net = (k: 'proxy' | 'runtime' | 'others') =>
    c1[k] - c0[k] - ((idle1[k] - idle0[k]) / idleWall) * wall;
  const rawTotal = c1.proxy - c0.proxy + (c1.runtime - c0.runtime);
  return {
    turns,
    errors,
    answer_text_tokens: answer.text_tokens,
    delta_words: answer.delta_words,
    text_deltas_per_turn: answer.text_deltas,
    wall_s: round2(wall / 1000),
    tick_ms: cpuTickMs(),
    workerd_cpu_ms_per_turn: round2((net('proxy') + net('runtime')) / turns),
    workerd_cpu_ms_per_turn_raw: round2(rawTotal / turns),
    workerd_idle_cpu_ms: round2(rawTotal - net('proxy') - net('runtime')),
    runtime_cpu_ms_per_turn: round2(net('runtime') / turns),
    runtime_cpu_ms_per_turn_raw: round2((c1.runtime - c0.runtime) / turns),
    proxy_cpu_ms_per_turn: round2(net('proxy') / turns),
    wrangler_node_cpu_ms_per_turn: round2(net('others') / turns),
    // An alarm comes due 30 s after its turn was sent (1 s of margin for the clocks).
    alarms_may_overlap:
      target === 'edge' && performance.now() - (alarmsSince ?? setupStart) > 29_000,
  };
}
