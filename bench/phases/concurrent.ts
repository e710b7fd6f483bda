/**
 * First text under concurrent streams: `streams` turns at once on one target, then the next
 * target; rounds rotate the order. thinking-edge's conversations are created beforehand.
 */
import { TARGETS, THINK_MS } from '../config';
import { range, rotate } from '../interleave';
import { pool } from '../measure';
import {
  type Collected,
  emptyCollected,
  type Endpoints,
  newConversation,
  streamTurn,
} from '../turns';

export async function firstTextConcurrent(
  e: Endpoints,
  streams: number,
  rounds: number,
): Promise<Collected> {
  const out = emptyCollected();
  for (let r = 0; r < rounds; r++) {
    const convs = await pool(range(streams), 10, () => newConversation(e.edge.url, e.edgeKey));
    for (const t of rotate(TARGETS, r)) {
      const settled = await Promise.allSettled(
        range(streams).map((i) =>
          streamTurn(e, t, `c${streams}-${r}-${t}-${i}`, `[sim:think_ms=${THINK_MS}]`, convs[i]),
        ),
      );
      for (const s of settled) {
        if (s.status === 'fulfilled') out.samples[t].push(s.value);
        else {
          out.errors[t]++;
          out.lastError[t] = String(s.reason);
        }
      }
    }
  }
  return out;
}
