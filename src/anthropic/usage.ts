/** Claude's usage as its answers report it, merged into ours (contract/answer.ts `TurnUsage`). */
import type { MessageDeltaUsage, Usage } from '@anthropic-ai/sdk/resources/messages';
import type { TokenCounts, TurnUsage } from '../contract/answer';

type RawCounts = {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
};

/** `message_start` and `message_delta` usage: every field may be absent or null. */
type RawUsage = RawCounts & {
  output_tokens_details?: { thinking_tokens?: number | null } | null;
  /** With the compaction beta: one entry per sampling pass (`compaction`, `message`, …). */
  iterations?: Array<RawCounts & { type?: string }> | null;
};

/** Counts are cumulative: a later event's figure replaces an earlier one's. */
export function mergeUsage(
  into: TurnUsage,
  raw: Usage | MessageDeltaUsage | RawUsage | null | undefined,
): void {
  if (!raw) return;
  const usage = raw as RawUsage;
  if (typeof usage.input_tokens === 'number') into.input_tokens = usage.input_tokens;
  if (typeof usage.output_tokens === 'number') into.output_tokens = usage.output_tokens;
  if (typeof usage.cache_creation_input_tokens === 'number')
    into.cache_creation_input_tokens = usage.cache_creation_input_tokens;
  if (typeof usage.cache_read_input_tokens === 'number')
    into.cache_read_input_tokens = usage.cache_read_input_tokens;
  const thinking = usage.output_tokens_details?.thinking_tokens;
  if (typeof thinking === 'number') into.thinking_tokens = thinking;
  // The top-level figures leave compaction out; its iterations say what it used.
  const compactions = (usage.iterations ?? []).filter((i) => i?.type === 'compaction');
  if (compactions.length > 0) into.compaction = sumCounts(compactions);
}

function sumCounts(parts: RawCounts[]): TokenCounts {
  const sum: TokenCounts = {
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
  for (const part of parts) {
    for (const field of Object.keys(sum) as Array<keyof TokenCounts>) {
      sum[field] += part[field] ?? 0;
    }
  }
  return sum;
}
