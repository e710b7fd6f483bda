// Helpers for the compaction, context-window and refusal tests: a history long enough to cross a
// compaction trigger, the compact beta, count_tokens, and stream accumulation that also applies
// `compaction_delta` (as the SDK's BetaMessageStream does).

import { longText } from './cache-helpers';
import { accumulate, type Block, type Sim, type SseEvent } from './helpers';

export const COMPACT_BETA = { 'anthropic-beta': 'compact-2026-01-12' };
export type Msg = { role: string; content: string | Block[] };

export const user = (content: string | Block[]): Msg => ({ role: 'user', content });
export const assistant = (content: string | Block[]): Msg => ({ role: 'assistant', content });

/** A `compact_20260112` edit (trigger 50,000 unless given). */
export const compactEdit = (extra: Record<string, unknown> = {}) => ({
  edits: [{ type: 'compact_20260112', trigger: { type: 'input_tokens', value: 50_000 }, ...extra }],
});

/** A hand-written history of about `tokens` tokens, its bulk in the first (old) user message. */
export function longHistory(question: string, tokens = 56_000): Msg[] {
  return [
    user(`Background material. ${longText(tokens, 'Notes')}`),
    assistant('Noted, I have read the background material.'),
    user(question),
  ];
}

/** Stream content, with `compaction_delta` applied to its block. */
export function accumulateAll(events: SseEvent[]): Block[] {
  const blocks = accumulate(events);
  for (const { data } of events)
    if (data.delta?.type === 'compaction_delta')
      Object.assign(blocks[data.index]!, {
        content: data.delta.content,
        encrypted_content: data.delta.encrypted_content,
      });
  return blocks;
}

export async function countTokens(
  sim: Sim,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<number> {
  const res = await sim.fetch(
    new Request('http://sim/v1/messages/count_tokens', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'anthropic-version': '2026-10-21',
        ...headers,
      },
      body: JSON.stringify(body),
    }),
  );
  const answer = (await res.json()) as any;
  if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(answer)}`);
  return answer.input_tokens;
}

/** The whole prompt a usage object (or iteration) counts. */
export const promptOf = (u: any): number =>
  u.input_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens;
