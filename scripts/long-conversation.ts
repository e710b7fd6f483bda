/**
 * `npx tsx scripts/long-conversation.ts [turns]`: one conversation of `turns` (default 100)
 * SSE turns through `wrangler dev`, with the Messages API simulator served in this process
 * so that every upstream request can be measured. `COMPACT_AT_INPUT_TOKENS` is 50000 (the
 * API's minimum), each user message about 1,000 tokens and each answer about 500, so the
 * conversation compacts several times. Prints, per turn, the upstream request's size (bytes
 * of its `messages`, and the prompt's tokens as Claude counts them), whether it compacted, and
 * the time to the first text event; then the request size before and after each compaction
 * and the first-text time of compacting turns against the others. Loopback only; ports
 * 8794–8796.
 */
import { startEdgeWithSimulator } from '../bench/edge-dev';
import { percentile } from '../bench/stats';

const TURNS = Number(process.argv[2] ?? 100);
const { simulator, edge, headers, stop } = await startEdgeWithSimulator({
  port: 8794,
  simulator: { pingIntervalMs: 200 },
  vars: ['COMPACT_AT_INPUT_TOKENS:50000'],
});

const sentence = 'The committee reviewed the harbour plans, the tide tables and the budget. ';
const SYSTEM = `You answer questions about harbour works. ${sentence.repeat(80)}`;
const userMessage = (turn: number) =>
  `Turn ${turn}. ${sentence.repeat(Math.ceil(4000 / sentence.length))}`.slice(0, 4000);

interface Row {
  turn: number;
  bytes: number;
  promptTokens: number;
  compacted: boolean;
  /** The turn's prompt-cache writes and reads, compaction pass included. */
  cacheWrite: number;
  cacheRead: number;
  firstTextMs: number;
}

try {
  const rows: Row[] = [];
  let conversationId: string | undefined;

  for (let turn = 1; turn <= TURNS; turn++) {
    const calls = simulator.requests.length;
    const t0 = performance.now();
    const res = await fetch(`${edge.url}/v1/chat`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        // A system prompt of about 1,500 tokens: its cache breakpoint should survive compactions.
        ...(conversationId ? { conversation_id: conversationId } : { system: SYSTEM }),
        message: `${userMessage(turn)} [sim:words=350]`,
        stream: true,
      }),
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let body = '';
    let firstText: number | undefined;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += value;
      if (firstText === undefined && body.includes('event: text')) firstText = performance.now();
    }
    conversationId ??= /"conversation_id":"(c_[A-Za-z0-9]+)"/.exec(body)?.[1];
    const done = /event: done\ndata: (.*)\n/.exec(body)?.[1];
    if (!done || firstText === undefined) throw new Error(`turn ${turn}: ${body.slice(-400)}`);
    const { usage } = JSON.parse(done) as {
      usage: Record<string, number> & { compaction?: Record<string, number> };
    };
    const upstream = simulator.requests.slice(calls).find((r) => r.path === '/v1/messages');
    const prompt = usage.compaction ?? usage;
    rows.push({
      turn,
      bytes: JSON.stringify(upstream?.body?.messages ?? []).length,
      promptTokens:
        prompt.input_tokens! +
        prompt.cache_creation_input_tokens! +
        prompt.cache_read_input_tokens!,
      compacted: usage.compaction !== undefined,
      cacheWrite:
        usage.cache_creation_input_tokens! + (usage.compaction?.cache_creation_input_tokens ?? 0),
      cacheRead: usage.cache_read_input_tokens! + (usage.compaction?.cache_read_input_tokens ?? 0),
      firstTextMs: firstText - t0,
    });
  }

  console.log(
    'turn  request bytes  prompt tokens  compacted  cache write  cache read  first text ms',
  );
  for (const r of rows) {
    console.log(
      `${String(r.turn).padStart(4)}  ${String(r.bytes).padStart(13)}  ${String(r.promptTokens).padStart(13)}  ${(r.compacted ? 'yes' : '').padStart(9)}  ${String(r.cacheWrite).padStart(11)}  ${String(r.cacheRead).padStart(10)}  ${r.firstTextMs.toFixed(1).padStart(13)}`,
    );
  }
  const compacting = rows.filter((r) => r.compacted);
  console.log(
    `\n${compacting.length} compactions, at turns ${compacting.map((r) => r.turn).join(', ')}`,
  );
  for (const c of compacting) {
    const next = rows.find((r) => r.turn === c.turn + 1);
    console.log(
      `turn ${c.turn}: request ${c.bytes} bytes / ${c.promptTokens} tokens; turn ${c.turn + 1} after it: ${next?.bytes} bytes / ${next?.promptTokens} tokens`,
    );
  }
  const ms = (xs: number[]) =>
    `p50 ${percentile(xs, 50).toFixed(1)} ms, p90 ${percentile(xs, 90).toFixed(1)} ms (n = ${xs.length})`;
  const others = rows.filter((r) => !r.compacted && r.turn > 1).map((r) => r.firstTextMs);
  // The turns just before a compaction send about as much: the fairest comparison.
  const before = compacting.flatMap((c) =>
    rows.filter((r) => r.turn >= c.turn - 3 && r.turn < c.turn).map((r) => r.firstTextMs),
  );
  console.log(`first text, turns that compacted: ${ms(compacting.map((r) => r.firstTextMs))}`);
  console.log(`first text, the 3 turns before each: ${ms(before)}`);
  console.log(`first text, the other turns:      ${ms(others)}`);
  console.log(
    `largest request: ${Math.max(...rows.map((r) => r.bytes))} bytes; without compaction the last would hold every turn`,
  );
} finally {
  await stop();
}
