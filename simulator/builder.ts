// Accumulates the blocks of one response in order, sealing each thinking block and tool_use id
// against everything issued before it, and keeping the max_tokens / stop-sequence accounting.

import type { BetaCompactionBlock } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { StopReason } from '@anthropic-ai/sdk/resources/messages';
import { blockPrefixHash, canonicalBlock } from './canonical';
import type { Hmac } from './crypto';
import { issueToolUseId, sealThinking, summaryHash, type SealedKind } from './signatures';
import { jsonChunks, splitInto, tokensOf, wordChunks } from './synth';
import type { ThinkingMode } from './thinking-config';

export type PlannedBlock =
  | { type: 'compaction'; content: string; encryptedContent: string }
  | { type: 'thinking'; signature: string; thinking: string; deltas: string[] }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'text'; text: string; deltas: string[] }
  | {
      type: 'tool_use';
      id: string;
      name: string;
      input: unknown;
      deltas: string[];
      /** Cut by max_tokens: partial input JSON and no content_block_stop. */
      truncated: boolean;
    }
  | { type: 'unknown'; block: Record<string, unknown> };

export interface UsableTool {
  name: string;
  input: unknown;
}

const REDACTED_TOKENS = 32;
const TOOL_OVERHEAD_TOKENS = 8;
const UNKNOWN_BLOCK = {
  type: 'mystery_block',
  note: 'a content block type this client does not know',
};

interface BuilderSetup {
  /** Binding of system + tools + the messages before the one being written. */
  prefix: Uint8Array;
  /** Blocks the message already holds (a continued message): they come before the new ones. */
  seed: readonly Record<string, unknown>[];
  /** Output tokens the answer may use. */
  maxTokens: number;
  /** The stop reason when they run out: `max_tokens`, or `model_context_window_exceeded`. */
  limitReason: StopReason;
  display: ThinkingMode['display'];
  stopSequences: readonly string[];
  /** Words per `text_delta` (the real API's are several tokens each). */
  deltaWords: number;
}

/** Accumulates the response blocks, sealing each against everything issued before it. */
export class Builder {
  readonly blocks: PlannedBlock[] = [];
  private readonly issued: Record<string, unknown>[];
  private sealedCount: number;
  private remaining: number;
  private readonly hmac: Hmac;
  private readonly prefix: Uint8Array;
  private readonly display: ThinkingMode['display'];
  private readonly stopSequences: readonly string[];
  private readonly limitReason: StopReason;
  private readonly deltaWords: number;
  output = 0;
  thinking = 0;
  stop: StopReason | null = null;
  stopSequence: string | null = null;

  constructor(hmac: Hmac, setup: BuilderSetup) {
    this.hmac = hmac;
    this.prefix = setup.prefix;
    this.remaining = setup.maxTokens;
    this.display = setup.display;
    this.stopSequences = setup.stopSequences;
    this.limitReason = setup.limitReason;
    this.deltaWords = setup.deltaWords;
    this.issued = [...setup.seed];
    this.sealedCount = setup.seed.filter(
      (b) => b.type === 'thinking' || b.type === 'redacted_thinking',
    ).length;
  }

  private spend(tokens: number): void {
    this.remaining -= tokens;
    this.output += tokens;
  }

  private async seal(kind: SealedKind, tokens: number, summary: string | null): Promise<string> {
    return sealThinking(this.hmac, {
      kind,
      summarized: summary !== null,
      position: this.issued.length,
      thinkingTokens: tokens,
      prefix: this.prefix,
      blockPrefix: await blockPrefixHash(this.issued),
      summary: await summaryHash(summary),
    });
  }

  /** The compaction block opens the message; it is its own iteration (no output tokens here). */
  addCompaction(block: BetaCompactionBlock): void {
    const { content, encrypted_content: encrypted } = block;
    this.blocks.push({ type: 'compaction', content: content!, encryptedContent: encrypted! });
    this.issued.push(canonicalBlock(block) as Record<string, unknown>);
  }

  async addThinking(wanted: number, summaryText: string): Promise<void> {
    if (this.stop) return;
    const tokens = Math.max(1, Math.min(wanted, Math.floor(this.remaining / 2)));
    const summary = this.display === 'summarized' ? summaryText : null;
    const signature = await this.seal('thinking', tokens, summary);
    const thinking = summary ?? '';
    this.blocks.push({
      type: 'thinking',
      signature,
      thinking,
      deltas: summary ? splitInto(summary, 3) : [],
    });
    this.issued.push({ type: 'thinking', thinking, signature });
    this.sealedCount++;
    this.spend(tokens);
    this.thinking += tokens;
  }

  async addRedacted(): Promise<void> {
    if (this.stop) return;
    const data = await this.seal('redacted_thinking', REDACTED_TOKENS, null);
    this.blocks.push({ type: 'redacted_thinking', data });
    this.issued.push({ type: 'redacted_thinking', data });
    this.sealedCount++;
    this.spend(REDACTED_TOKENS);
    this.thinking += REDACTED_TOKENS;
  }

  addText(full: string): void {
    if (this.stop) return;
    let text = full;
    for (const seq of this.stopSequences) {
      const at = seq ? text.indexOf(seq) : -1;
      if (at >= 0) {
        text = text.slice(0, at);
        this.stop = 'stop_sequence';
        this.stopSequence = seq;
      }
    }
    if (tokensOf(text) > this.remaining) {
      const fitting = text.slice(0, Math.max(0, this.remaining) * 4);
      text = fitting.replace(/\s+\S*$/, '') || fitting;
      this.stop = this.limitReason;
      this.stopSequence = null;
    }
    if (text.trim() === '') return;
    this.blocks.push({ type: 'text', text, deltas: wordChunks(text, this.deltaWords) });
    this.issued.push({ type: 'text', text });
    this.spend(tokensOf(text));
  }

  async addToolUse(tool: UsableTool, forceTruncation: boolean): Promise<void> {
    if (this.stop) return;
    const id = await issueToolUseId(this.hmac, {
      prefix: this.prefix,
      blockPrefix: await blockPrefixHash(this.issued),
      position: this.issued.length,
      thinkingBefore: this.sealedCount,
      name: tool.name,
      input: tool.input,
    });
    const json = JSON.stringify(tool.input);
    const tokens = tokensOf(json) + TOOL_OVERHEAD_TOKENS;
    const truncated = forceTruncation || tokens > this.remaining;
    if (truncated) {
      const cut = forceTruncation
        ? Math.floor(json.length * 0.6)
        : Math.max(1, Math.min(json.length - 1, this.remaining * 4));
      const partial = json.slice(0, cut);
      this.blocks.push({
        type: 'tool_use',
        id,
        name: tool.name,
        input: {},
        deltas: jsonChunks(partial),
        truncated,
      });
      this.spend(Math.max(1, Math.min(tokens, this.remaining)));
      this.stop = forceTruncation ? 'max_tokens' : this.limitReason;
      return;
    }
    this.blocks.push({
      type: 'tool_use',
      id,
      name: tool.name,
      input: tool.input,
      deltas: jsonChunks(json),
      truncated,
    });
    this.issued.push({ type: 'tool_use', id, name: tool.name, input: tool.input });
    this.spend(tokens);
  }

  addUnknown(): void {
    if (!this.stop) this.blocks.push({ type: 'unknown', block: { ...UNKNOWN_BLOCK } });
  }

  get stopReason(): StopReason {
    if (this.stop) return this.stop;
    return this.blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
  }
}
