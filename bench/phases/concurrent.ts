/**
 * First text under concurrent streams: `streams` turns at once on one target, then the next
 * target; rounds rotate the order. thinking-edge's conversations are created beforehand, on
 * one key or spread over `keys` keys (conversation i on key i mod `keys`, created and
 * continued with it). After each round every edge conversation is read back: a turn the
 * client saw end must have been stored too.
 */
import { TARGETS, THINK_MS } from '../config';
import { range, rotate } from '../interleave';
import { pool } from '../measure';
import {
  type Collected,
  emptyCollected,
  type Endpoints,
  newConversation,
  storedTurns,
  streamTurn,
} from '../turns';

/** Edge conversations whose measured turn was stored (`turns === 2` read back), of all. */
export interface StoredFigure {
  stored: number;
  total: number;
  /** What the last conversation that fell short answered. */
  last_problem?: string;
}

export interface ConcurrentRun {
  c: Collected;
  stored: StoredFigure;
}

export async function firstTextConcurrent(
  e: Endpoints,
  streams: number,
  rounds: number,
  keys = 1,
): Promise<ConcurrentRun> {
  if (keys > 1 && e.edgeKeys.length < keys) {
    throw new Error(`${keys} keys asked for, ${e.edgeKeys.length} minted (EXTRA_KEYS)`);
  }
  const keyOf = (i: number) => (keys > 1 ? e.edgeKeys[i % keys]! : e.edgeKey);
  const out = emptyCollected();
  const stored: StoredFigure = { stored: 0, total: 0 };
  const tagOf = keys > 1 ? `c${streams}k${keys}` : `c${streams}`;
  for (let r = 0; r < rounds; r++) {
    const convs = await pool(range(streams), 10, (i) => newConversation(e.edge.url, keyOf(i)));
    for (const t of rotate(TARGETS, r)) {
      const settled = await Promise.allSettled(
        range(streams).map((i) =>
          streamTurn(
            e,
            t,
            `${tagOf}-${r}-${t}-${i}`,
            `[sim:think_ms=${THINK_MS}]`,
            convs[i],
            keyOf(i),
          ),
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
    // Untimed: the set-up turn and the measured one, both stored (a failed turn counts short).
    await pool(convs, 10, async (id, i) => {
      stored.total++;
      try {
        const read = await storedTurns(e.edge.url, keyOf(i), id);
        if (read.status === 200 && read.turns === 2) stored.stored++;
        else stored.last_problem = `${id}: status ${read.status}, turns ${read.turns ?? 'n/a'}`;
      } catch (err) {
        stored.last_problem = `${id}: ${String(err)}`;
      }
    });
  }
  return { c: out, stored };
}
