/**
 * Server-side compaction (`compact_20260112`, reference long-conversations.md §1A). Once a
 * turn's input passes the trigger, Claude answers with a `compaction` block first: a summary
 * of everything before it, which from then on replaces it. The API ignores every block
 * before the latest compaction block, so the edge stops sending them: the upstream history
 * starts at that block (the thinking blocks after it are bound to it, not to what it
 * replaced), while the stored conversation keeps every turn for the transcript — but not the
 * blocks before it that only Claude could read.
 */
import type {
  BetaCompactionBlock,
  BetaContextManagementConfig,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { ContentBlockParam, MessageParam } from '@anthropic-ai/sdk/resources/messages';

export const COMPACTION_BETA = 'compact-2026-01-12';

export function compactionConfig(triggerTokens: number): BetaContextManagementConfig {
  return {
    edits: [{ type: 'compact_20260112', trigger: { type: 'input_tokens', value: triggerTokens } }],
  };
}

/** A compaction that happened: `content: null` is one that failed, which changes nothing. */
export function isCompaction(block: unknown): block is BetaCompactionBlock {
  const b = block as { type?: unknown; content?: unknown } | null;
  return b?.type === 'compaction' && typeof b.content === 'string';
}

/** Where the latest compaction block is: message and block index, or null when none. */
export function latestCompaction(
  messages: readonly MessageParam[],
): { message: number; block: number } | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const { role, content } = messages[i]!;
    if (role !== 'assistant' || typeof content === 'string') continue;
    for (let j = content.length - 1; j >= 0; j--) {
      if (isCompaction(content[j])) return { message: i, block: j };
    }
  }
  return null;
}

/** The history Claude is sent: from the latest compaction block on, or all of it. */
export function upstreamHistory(messages: MessageParam[]): MessageParam[] {
  const at = latestCompaction(messages);
  if (!at) return messages;
  const first = messages[at.message]!;
  const from: MessageParam =
    at.block === 0
      ? first
      : { role: 'assistant', content: (first.content as ContentBlockParam[]).slice(at.block) };
  return [from, ...messages.slice(at.message + 1)];
}

/** Blocks only Claude reads: once a compaction has replaced them, nobody does. */
const SPENT = new Set<string>(['thinking', 'redacted_thinking', 'compaction']);

/**
 * The history to store after a compaction: thinking, redacted thinking and earlier compaction
 * blocks before the latest compaction block are dropped. Claude is never sent them again and
 * no transcript shows them, yet their signatures and summaries would grow the stored
 * conversation (one KV value, written whole every turn) for good. The text, tool calls and
 * tool results stay, for the transcript.
 */
export function dropSpentBlocks(messages: MessageParam[]): MessageParam[] {
  const at = latestCompaction(messages);
  if (!at) return messages;
  return messages.map((message, i) => {
    const { role, content } = message;
    if (i > at.message || role !== 'assistant' || typeof content === 'string') return message;
    const end = i === at.message ? at.block : content.length;
    const kept = content.filter((block, j) => j >= end || !SPENT.has(block.type));
    return kept.length === content.length ? message : { role, content: kept };
  });
}
