/**
 * `npx tsx scripts/relay-cost.ts [windows]`: what handing a turn's events to its client costs,
 * per event. The same 750-word answer is asked for as an SSE stream and as a JSON answer, at
 * 2 and at 6 words a text delta; both run the same turn in the conversation's object (read,
 * translate, frame and log every event), but only the stream hands the frames on — through
 * the reader's writer, the object → Worker stream and the Worker's response. So the
 * difference in the runtime's CPU per turn, divided by the turn's text deltas, is the relay's
 * cost per event. Windows of 20 turns, alternating SSE and JSON (default 6 of each per
 * chunking), set-up turns outside them. Loopback only; ports 8766–8768.
 */
import { startEdgeWithSimulator } from '../bench/edge-dev';
import { cpuMs, sleep } from '../bench/servers';
import { percentile } from '../bench/stats';

const WINDOWS = Number(process.argv[2] ?? 6);
const TURNS = 20;
const WORDS = 750;

const { edge, headers, stop } = await startEdgeWithSimulator({
  port: 8766,
  simulator: { recordRequests: false },
});

async function post(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${edge.url}/v1/chat`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${res.status} ${text.slice(0, 200)}`);
  return text;
}

/** Runtime CPU (ms) per turn over one window; also the text deltas a turn had. */
async function window(stream: boolean, deltaWords: number) {
  const conversations: string[] = [];
  for (let i = 0; i < TURNS; i++) {
    const { conversation_id } = JSON.parse(await post({ message: 'relay set-up' })) as {
      conversation_id: string;
    };
    conversations.push(conversation_id);
  }
  await sleep(300);
  const { runtime } = edge.workerdRoles();
  const c0 = cpuMs(runtime);
  let deltas = 0;
  for (const conversation_id of conversations) {
    const body = await post({
      conversation_id,
      message: `relay [sim:words=${WORDS}] [sim:delta_words=${deltaWords}]`,
      stream,
    });
    if (stream) deltas = body.split('event: text\n').length - 1;
  }
  await sleep(300); // the turn's work after its last byte
  return { cpu: (cpuMs(runtime) - c0) / TURNS, deltas };
}

const row = (label: string, xs: number[]) =>
  `${label.padEnd(30)} ${[50, 90].map((p) => percentile(xs, p).toFixed(2).padStart(9)).join('')}`;

try {
  for (let i = 0; i < 10; i++)
    await post({ message: `warm ${i} [sim:words=${WORDS}]`, stream: true });
  for (const deltaWords of [2, 6]) {
    const sse: number[] = [];
    const json: number[] = [];
    let deltas = 0;
    for (let w = 0; w < WINDOWS; w++) {
      for (const stream of w % 2 === 0 ? [true, false] : [false, true]) {
        const got = await window(stream, deltaWords);
        (stream ? sse : json).push(got.cpu);
        if (stream) deltas = got.deltas;
      }
    }
    const perEvent = sse.map((x, i) => ((x - json[i]!) / deltas) * 1000);
    console.log(
      `\n${WORDS} words, ${deltaWords} a delta (${deltas} text events a turn); runtime workerd CPU, ${WINDOWS} windows of ${TURNS} turns each`,
    );
    console.log(`${''.padEnd(30)} ${['p50', 'p90'].map((h) => h.padStart(9)).join('')}`);
    console.log(row('SSE, ms a turn', sse));
    console.log(row('JSON, ms a turn', json));
    console.log(row('relay, µs an event (paired)', perEvent));
  }
} finally {
  await stop();
}
