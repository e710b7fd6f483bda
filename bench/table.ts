/** The table `npm run bench` prints at the end, read from the report it wrote. */
import { LABEL, TARGETS } from './config';
import { fixed2, sign } from './format';
import type { BenchReport, CpuComparison } from './report';

/** A row: the first cell left-aligned, the others right-aligned, each to its width. */
const line = (cells: string[], widths: number[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');

export function printTable(r: BenchReport): void {
  const f = fixed2;
  const out: string[] = [];
  out.push('');
  out.push(
    `machine: ${r.machine.cpu}, ${r.machine.cores} cores, node ${r.machine.node}, wrangler ${r.machine.wrangler}, ${r.machine.date}`,
  );
  const fa = r.foreign_activity_during_run;
  if (fa.busy_samples > 0) {
    out.push(
      `WARNING: other runs were active in ${fa.busy_samples} of ${fa.samples} samples (noise): ${fa.examples.join(' | ')}`,
    );
  }
  out.push('');
  out.push(
    `first text token, concurrency 1, think ${r.setup.think_ms} ms (${r.first_text_c1.rounds} interleaved rounds)`,
  );
  const w = [24, 8, 9, 9, 9, 9, 7];
  out.push(line(['target', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors'], w));
  for (const t of TARGETS) {
    const x = r.first_text_c1.targets[t];
    out.push(
      line(
        [
          LABEL[t],
          String(x.first_text.samples),
          f(x.first_text.p50_ms),
          f(x.first_text.p90_ms),
          f(x.first_text.p99_ms),
          f(x.first_text.max_ms),
          String(x.errors),
        ],
        w,
      ),
    );
  }
  const ex = r.first_text_c1.excess_over_bare_ms;
  out.push(line(['edge − bare', '', sign(ex.p50), sign(ex.p90), sign(ex.p99), '', ''], w));
  out.push('');
  out.push('where the time goes (p50 ms; from the simulator taps, same clock)');
  const w2 = [24, 14, 14, 14, 12];
  out.push(line(['target', 'to upstream', 'upstream', 'to client', 'first byte'], w2));
  for (const t of TARGETS) {
    const x = r.first_text_c1.targets[t];
    out.push(
      line(
        [
          LABEL[t],
          f(x.until_upstream_request.p50_ms),
          f(x.upstream_request_to_first_text.p50_ms),
          f(x.upstream_first_text_to_client.p50_ms),
          f(x.first_byte.p50_ms),
        ],
        w2,
      ),
    );
  }
  out.push('');
  const fb = r.first_byte;
  out.push(
    `thinking-edge first byte (conversation event): p50 ${f(fb.conversation_event.p50_ms)} ms, p99 ${f(fb.conversation_event.p99_ms)} ms; before upstream first text ${fb.before_upstream_first_text}/${fb.samples}, before think time ${fb.before_think_time_elapsed}/${fb.samples}, before upstream's first byte ${fb.before_upstream_first_byte}/${fb.samples}`,
  );
  out.push('');
  out.push('first text under concurrent streams (p50 / p99 ms; stored: edge turns read back)');
  const w3 = [14, 22, 22, 22, 12, 9];
  out.push(line(['streams', LABEL.direct, LABEL.bare, LABEL.edge, 'edge÷bare p99', 'stored'], w3));
  const failures: string[] = [];
  for (const v of Object.values(r.first_text_concurrent)) {
    const streams = v.keys > 1 ? `${v.streams} × ${v.keys} keys` : String(v.streams);
    for (const t of TARGETS) {
      if (v[t].errors > 0)
        failures.push(
          `  ${streams} streams, ${LABEL[t]}: ${v[t].errors} failed, e.g. ${v[t].last_error ?? ''}`,
        );
    }
    if (v.stored && v.stored.stored < v.stored.total)
      failures.push(
        `  ${streams} streams: ${v.stored.total - v.stored.stored} edge turns not stored, e.g. ${v.stored.last_problem ?? ''}`,
      );
    out.push(
      line(
        [
          streams,
          ...TARGETS.map((t) => `${f(v[t].first_text.p50_ms)} / ${f(v[t].first_text.p99_ms)}`),
          `${v.edge_over_bare_p99_ratio}×`,
          v.stored ? `${v.stored.stored}/${v.stored.total}` : '',
        ],
        w3,
      ),
    );
  }
  out.push(...failures);
  out.push('');
  out.push('JSON turns (non-stream)');
  out.push('(cpu: ms per turn, all workerd / runtime workerd; %: of one core during the load)');
  const w4 = [22, 6, 6, 8, 8, 8, 8, 8, 9, 7];
  out.push(
    line(
      [
        'target',
        'conns',
        'turns',
        'turns/s',
        'p50 ms',
        'p99 ms',
        'cpu all',
        'cpu rt',
        'workerd%',
        'bench%',
      ],
      w4,
    ),
  );
  for (const [conns, v] of Object.entries(r.json_turns)) {
    for (const t of ['bare', 'edge'] as const) {
      const x = v[t];
      out.push(
        line(
          [
            LABEL[t],
            conns,
            String(x.turns_ok),
            f(x.turns_per_s),
            f(x.latency.p50_ms),
            f(x.latency.p99_ms),
            f(x.workerd_cpu_ms_per_turn),
            f(x.runtime_cpu_ms_per_turn),
            String(x.workerd_cpu_pct),
            String(x.bench_process_cpu_pct),
          ],
          w4,
        ),
      );
    }
  }
  out.push('');
  cpuSection(out, r.cpu, "the simulator's default");
  out.push('');
  cpuSection(out, r.cpu_api_chunking, "a chunking like the real API's");
  const b = r.bundle;
  out.push(
    `bundle: ${b.plain.ok ? `${b.plain.raw_kib} KiB raw, ${b.plain.gzip_kib} KiB gzip; --minify ${b.minified.raw_kib} KiB raw, ${b.minified.gzip_kib} KiB gzip` : b.plain.error}`,
  );
  out.push('');
  out.push(
    'KV / Durable Object calls per turn (measured on the counting instance; ms until settled)',
  );
  for (const [k, v] of Object.entries(r.ops_measured)) {
    const calls = Object.entries(v.per_turn)
      .map(([name, n]) => `${name} ×${n} (${f(v.ms_per_turn[name] ?? NaN)} ms)`)
      .join(', ');
    out.push(
      `  ${k}: KV ${v.kv_reads_per_turn} reads + ${v.kv_writes_per_turn} writes, DO ${v.do_calls_per_turn} calls${v.constant ? '' : ' (varied)'} — ${calls}`,
    );
  }
  out.push('');
  out.push('targets');
  for (const t of r.targets)
    out.push(`  ${t.met ? 'MET    ' : 'NOT MET'}  ${t.figure}: ${t.value} (target ${t.target})`);
  console.log(out.join('\n'));
}

/** One chunking's CPU per streamed turn: bare Worker, thinking-edge, and the difference. */
function cpuSection(out: string[], c: CpuComparison, chunking: string): void {
  const f = fixed2;
  const { edge } = c;
  out.push(
    `CPU per streamed turn of ${edge.answer_text_tokens} text tokens, ${edge.delta_words} words per text delta (${chunking}: ${edge.text_deltas_per_turn} deltas a turn); workerd utime+stime, idle subtracted, ${edge.turns} turns each`,
  );
  const w5 = [24, 14, 14, 14, 14];
  out.push(line(['target', 'workerd ms', 'runtime ms', 'proxy ms', 'wrangler ms'], w5));
  for (const t of ['bare', 'edge'] as const) {
    const x = c[t];
    out.push(
      line(
        [
          LABEL[t],
          f(x.workerd_cpu_ms_per_turn),
          f(x.runtime_cpu_ms_per_turn),
          f(x.proxy_cpu_ms_per_turn),
          f(x.wrangler_node_cpu_ms_per_turn),
        ],
        w5,
      ),
    );
  }
  out.push(
    line(
      [
        'edge − bare',
        f(c.edge_excess_over_bare_ms_per_turn),
        f(c.runtime_excess_over_bare_ms_per_turn),
        '',
        '',
      ],
      w5,
    ),
  );
  if (edge.alarms_may_overlap)
    out.push("  (thinking-edge's keep-alive alarms may have fired inside this window)");
  const failed = c.bare.errors + c.edge.errors;
  if (failed > 0) out.push(`  ${c.bare.errors} bare and ${c.edge.errors} edge turns failed`);
}
