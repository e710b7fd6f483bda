/**
 * A finished turn as clients see it: the `/v1/chat` JSON answer, which is also what a
 * stored Idempotency-Key replay and a `done` event carry (API.md §3). Never thinking data.
 */
import type { ContentBlock, RefusalStopDetails } from '@anthropic-ai/sdk/resources/messages';

/** Token counts of one part of a turn's work, as Claude reports them. */
export interface TokenCounts {
  /** Input tokens not read from or written to the prompt cache. */
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** Token counts as the client sees them (cumulative, from the last `message_delta`). */
export interface TurnUsage extends TokenCounts {
  thinking_tokens?: number;
  /**
   * What a server-side compaction in this turn used (`usage.iterations`), which the fields
   * above leave out, as Claude's own top-level usage does. The day's budget counts both.
   */
  compaction?: TokenCounts;
}

/**
 * Why the answer stopped, in words, where the stop reason alone does not say enough:
 * Claude's own details of a `refusal`, or the edge's for `model_context_window_exceeded`.
 */
export type StopDetails =
  RefusalStopDetails | { type: 'model_context_window_exceeded'; explanation: string };

export type VisibleBlock =
  { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown };

export interface TurnAnswer {
  conversation_id: string;
  turn: number;
  content: VisibleBlock[];
  stop_reason: string | null;
  /** Present only when there is something to say (see `StopDetails`). */
  stop_details?: StopDetails;
  usage: TurnUsage;
}

/** The blocks a client may see: text and tool calls, never thinking data. */
export function visibleContent(content: readonly ContentBlock[]): VisibleBlock[] {
  const out: VisibleBlock[] = [];
  for (const block of content) {
    if (block.type === 'text') out.push({ type: 'text', text: block.text });
    else if (block.type === 'tool_use')
      out.push({ type: 'tool_use', id: block.id, name: block.name, input: block.input });
  }
  return out;
}
