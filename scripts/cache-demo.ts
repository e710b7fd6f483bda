/**
 * Shows prompt caching at work: a five-turn conversation through `wrangler dev` and the
 * simulator, printing each turn's usage as the client sees it. Loopback only; stops by
 * itself. Usage: `tsx scripts/cache-demo.ts`.
 */
import { startHarness } from './harness';

const SYSTEM = `You are a patient tutor. ${'Explain every step, check the student understood, and keep answers short. '.repeat(60)}`;
const harness = await startHarness({ simPort: 8792, edgePort: 8791 });
try {
  let conversation_id: string | undefined;
  let cached = 0;
  let uncached = 0;
  console.log('turn  input(uncached)  cache_write  cache_read  output');
  for (let turn = 1; turn <= 5; turn++) {
    const body = {
      message: `Question ${turn}: what comes next?`,
      ...(conversation_id ? { conversation_id } : { system: SYSTEM }),
    };
    const res = await fetch(`${harness.edge}/v1/chat`, {
      method: 'POST',
      headers: harness.headers,
      body: JSON.stringify(body),
    });
    const answer = (await res.json()) as { conversation_id: string; usage: Record<string, number> };
    conversation_id = answer.conversation_id;
    const u = answer.usage;
    cached += u.cache_read_input_tokens!;
    uncached += u.input_tokens! + u.cache_creation_input_tokens!;
    console.log(
      [
        turn,
        u.input_tokens,
        u.cache_creation_input_tokens,
        u.cache_read_input_tokens,
        u.output_tokens,
      ]
        .map((v, i) => String(v).padStart(i === 0 ? 4 : 12))
        .join('  '),
    );
  }
  console.log(
    `input tokens over 5 turns: ${cached} read from cache, ${uncached} not (written or uncached)`,
  );
} finally {
  harness.stop();
}
