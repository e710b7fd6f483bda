// The prompt cache of one simulator instance and its per-request accounting (reference §7).
//
// Read: the longest cached prefix found at a breakpoint or at one of the 20 blocks before it
// (the API's lookback). Write: every breakpoint at or beyond the read point whose prefix reaches
// the minimum length. `cache_creation_input_tokens` runs from the read point to the last written
// breakpoint, split by the TTL of the breakpoint that closes each stretch; `input_tokens` is the
// rest. Entries live 5 minutes or 1 hour from their last write or read.

import type { Breakpoint, Ttl } from './cache-control';
import type { PromptLayout } from './prompt-layout';

export interface PromptUsage {
  /** Uncached input tokens. */
  input: number;
  cacheRead: number;
  cacheCreation: number;
  creation5m: number;
  creation1h: number;
}

const LOOKBACK_BLOCKS = 20;
export const DEFAULT_MIN_CACHE_TOKENS = 1024;
const TTL_MS: Record<Ttl, number> = { '5m': 5 * 60_000, '1h': 60 * 60_000 };

interface Entry {
  expires: number;
  ttlMs: number;
}

export class PromptCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly minTokens: number,
    private readonly now: () => number,
    private readonly limit = 50_000,
  ) {}

  private live(hash: string, now: number): Entry | undefined {
    const entry = this.entries.get(hash);
    if (entry && entry.expires <= now) this.entries.delete(hash);
    return entry && entry.expires > now ? entry : undefined;
  }

  private write(hash: string, ttl: Ttl, now: number): void {
    const old = this.live(hash, now);
    const ttlMs = Math.max(TTL_MS[ttl], old?.ttlMs ?? 0);
    this.entries.delete(hash);
    this.entries.set(hash, { expires: now + ttlMs, ttlMs });
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
  }

  /** One TTL per marked block (the longer one when two markers share a block). */
  private marks(layout: PromptLayout, breakpoints: readonly Breakpoint[]): Map<number, Ttl> {
    const marks = new Map<number, Ttl>();
    for (const bp of breakpoints) {
      const at = layout.position(bp.anchor);
      if (at !== undefined) marks.set(at, marks.get(at) === '1h' ? '1h' : bp.ttl);
    }
    return marks;
  }

  /** The block the longest cached prefix ends at (-1: none), searched from the breakpoints. */
  private readPoint(layout: PromptLayout, positions: readonly number[], now: number): number {
    let readAt = -1;
    for (const p of positions)
      for (let q = p; q >= Math.max(0, p - LOOKBACK_BLOCKS) && q > readAt; q--)
        if (this.live(layout.blocks[q]!.hash, now)) {
          readAt = q;
          break;
        }
    return readAt;
  }

  /**
   * What a read-only pass over this prompt reads from the cache (the compaction iteration): the
   * tokens of the longest cached prefix, whose entry is refreshed; nothing is written.
   */
  read(layout: PromptLayout, breakpoints: readonly Breakpoint[]): number {
    const now = this.now();
    const positions = [...this.marks(layout, breakpoints).keys()].sort((a, b) => a - b);
    const readAt = this.readPoint(layout, positions, now);
    if (readAt < 0) return 0;
    const entry = this.live(layout.blocks[readAt]!.hash, now)!;
    entry.expires = Math.max(entry.expires, now + entry.ttlMs);
    return layout.blocks[readAt]!.tokens;
  }

  account(layout: PromptLayout, breakpoints: readonly Breakpoint[]): PromptUsage {
    const now = this.now();
    const { blocks } = layout;
    const marks = this.marks(layout, breakpoints);
    const positions = [...marks.keys()].sort((a, b) => a - b);

    const readAt = this.readPoint(layout, positions, now);
    const cacheRead = readAt >= 0 ? blocks[readAt]!.tokens : 0;
    if (readAt >= 0) {
      const entry = this.live(blocks[readAt]!.hash, now)!;
      entry.expires = Math.max(entry.expires, now + entry.ttlMs);
    }

    const usage = { cacheRead, creation5m: 0, creation1h: 0 };
    let written = cacheRead;
    for (const p of positions) {
      const { hash, tokens } = blocks[p]!;
      if (p < readAt || tokens < this.minTokens) continue;
      const ttl = marks.get(p)!;
      this.write(hash, ttl, now);
      usage[ttl === '1h' ? 'creation1h' : 'creation5m'] += tokens - written;
      written = tokens;
    }
    return {
      ...usage,
      cacheCreation: written - cacheRead,
      input: layout.totalTokens - written,
    };
  }
}
