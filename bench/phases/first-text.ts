/**
 * First text at concurrency 1: every round, one streamed turn per target in a rotating order;
 * thinking-edge continues a fresh one-turn conversation each round.
 */
import { C1_ROUNDS, TARGETS, THINK_MS } from '../config';
import { rotate } from '../interleave';
import {
  type Collected,
  emptyCollected,
  type Endpoints,
  newConversation,
  streamTurn,
} from '../turns';

export async function firstTextSerial(e: Endpoints): Promise<Collected> {
  const out = emptyCollected();
  for (let r = 0; r < C1_ROUNDS; r++) {
    const conv = await newConversation(e.edge.url, e.edgeKey);
    for (const t of rotate(TARGETS, r)) {
      try {
        const sample = await streamTurn(e, t, `c1-${r}-${t}`, `[sim:think_ms=${THINK_MS}]`, conv);
        out.samples[t].push({ ...sample, round: r });
      } catch (err) {
        out.errors[t]++;
        out.lastError[t] = String(err);
      }
    }
  }
  return out;
}
