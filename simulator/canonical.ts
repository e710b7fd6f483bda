// Canonical forms of the request parts that thinking blocks are bound to (reference §3.3):
// top-level `system`, `tools`, every earlier message, and the earlier blocks of the same message.
// Formatting-only differences (key order, string vs. text-block content, `cache_control`
// breakpoints) do not change a canonical form; any change of content does.

import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { concatBytes, sha256 } from './crypto';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = Record<string, unknown>;

/** Block types the simulator understands; other assistant blocks are not part of any binding. */
export const KNOWN_BLOCK_TYPES = new Set([
  'text',
  'image',
  'document',
  'search_result',
  'thinking',
  'redacted_thinking',
  'tool_use',
  'tool_result',
  'server_tool_use',
  'web_search_tool_result',
  'web_fetch_tool_result',
  'code_execution_tool_result',
  'bash_code_execution_tool_result',
  'text_editor_code_execution_tool_result',
  'tool_search_tool_result',
  'container_upload',
  'compaction',
]);

export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Obj)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

export function withoutCacheControl(value: Obj): Obj {
  const { cache_control: _ignored, ...rest } = value;
  return rest;
}

/** A string content (or system) as the one text block it stands for. */
export function textBlocks(content: unknown): unknown[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return Array.isArray(content) ? content : [];
}

/** One content block as the API "sees" it. Thinking text is not part of it (the signature is). */
export function canonicalBlock(block: unknown): Json {
  const b = block as Obj;
  switch (b.type) {
    case 'thinking':
      return { type: 'thinking', signature: String(b.signature) };
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: String(b.data) };
    case 'compaction':
      return {
        type: 'compaction',
        content: typeof b.content === 'string' ? b.content : null,
        encrypted_content: typeof b.encrypted_content === 'string' ? b.encrypted_content : null,
      };
    case 'text': {
      const citations = Array.isArray(b.citations) && b.citations.length ? b.citations : undefined;
      return JSON.parse(stableStringify({ type: 'text', text: b.text, citations })) as Json;
    }
    case 'tool_use':
      return JSON.parse(
        stableStringify({ type: 'tool_use', id: b.id, name: b.name, input: b.input ?? {} }),
      ) as Json;
    case 'tool_result':
      return JSON.parse(
        stableStringify({
          type: 'tool_result',
          tool_use_id: b.tool_use_id,
          content: textBlocks(b.content).map(canonicalBlock),
          is_error: b.is_error === true,
        }),
      ) as Json;
    default:
      return JSON.parse(stableStringify(withoutCacheControl(b))) as Json;
  }
}

export function messageBlocks(message: MessageParam): unknown[] {
  return textBlocks(message.content);
}

export function canonicalMessage(message: MessageParam): Json {
  const blocks = messageBlocks(message).filter((b) =>
    KNOWN_BLOCK_TYPES.has(String((b as Obj).type)),
  );
  return { role: message.role, content: blocks.map(canonicalBlock) };
}

export interface BindingContext {
  system: unknown;
  tools: unknown;
  messages: readonly MessageParam[];
}

/**
 * Prefix hashes for every message boundary: `result[k]` binds `system`, `tools` and the first `k`
 * messages (16 bytes each). Chained per message, so a whole conversation costs one pass.
 */
export async function prefixChain(ctx: BindingContext): Promise<Uint8Array[]> {
  const head = stableStringify({
    system: textBlocks(ctx.system).map(canonicalBlock),
    tools: (Array.isArray(ctx.tools) ? ctx.tools : []).map((t) => withoutCacheControl(t as Obj)),
  });
  const chain = [(await sha256(head)).slice(0, 16)];
  for (const message of ctx.messages) {
    const digest = await sha256(stableStringify(canonicalMessage(message)));
    chain.push((await sha256(concatBytes(chain[chain.length - 1]!, digest))).slice(0, 16));
  }
  return chain;
}

/** Hash of the blocks before position `j` inside one assistant message (16 bytes). */
export async function blockPrefixHash(blocks: readonly unknown[]): Promise<Uint8Array> {
  const known = blocks.filter((b) => KNOWN_BLOCK_TYPES.has(String((b as Obj).type)));
  return (await sha256(stableStringify(known.map(canonicalBlock)))).slice(0, 16);
}
