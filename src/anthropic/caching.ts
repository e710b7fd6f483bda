/**
 * Prompt caching on every turn. A conversation resends its whole history — every earlier
 * turn and every signature-only thinking block — so without caching each turn pays full
 * input price and full prefill time again. Two breakpoints (the API allows four):
 *   1. the end of `system` (or of `tools` when there is no system): the part that stays
 *      cached even when a new user turn changes the thinking configuration, which
 *      invalidates cached messages;
 *   2. the top-level `cache_control`, which the API puts on the last block of the request,
 *      so the breakpoint moves with the conversation and turn N+1 reads turns 1..N.
 * Both use the same TTL, so "longer TTLs first" holds. The markers go on the outgoing
 * request only; the stored history stays byte-for-byte as Claude sent it.
 */
import type {
  CacheControlEphemeral,
  TextBlockParam,
  ToolUnion,
} from '@anthropic-ai/sdk/resources/messages';

export type CacheTtl = NonNullable<CacheControlEphemeral['ttl']>;

export interface Cacheable {
  system?: string | TextBlockParam[];
  tools?: ToolUnion[];
}

export function withCacheBreakpoints<T extends Cacheable>(params: T, ttl: CacheTtl | null) {
  if (!ttl) return params;
  const marker: CacheControlEphemeral = { type: 'ephemeral', ttl };
  const out: T & { cache_control: CacheControlEphemeral } = { ...params, cache_control: marker };
  if (params.system !== undefined && params.system.length > 0) {
    const blocks: TextBlockParam[] =
      typeof params.system === 'string' ? [{ type: 'text', text: params.system }] : params.system;
    out.system = blocks.map((b, i) =>
      i === blocks.length - 1 ? { ...b, cache_control: marker } : b,
    );
  } else if (params.tools && params.tools.length > 0) {
    const last = params.tools.length - 1;
    out.tools = params.tools.map((t, i) =>
      i === last ? ({ ...t, cache_control: marker } as ToolUnion) : t,
    );
  }
  return out;
}

/** The TTL a key's turns use: its own choice, else the operator's. `off` disables caching. */
export function cacheTtlFor(
  keyChoice: CacheTtl | 'off' | undefined,
  operatorDefault: CacheTtl | null,
): CacheTtl | null {
  if (keyChoice === 'off') return null;
  return keyChoice ?? operatorDefault;
}
