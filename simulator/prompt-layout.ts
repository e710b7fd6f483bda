// The prompt as the cache sees it: one block per tool, per system block and per message content
// block, in render order (tools → system → messages). Each block has the hash of the prefix up
// to and including it and the token count of that prefix. Hashes are canonical: `cache_control`,
// key order, omitted thinking text and string vs. text-block content do not matter. Every hash
// starts from the model and speed; message blocks also depend on the thinking configuration and
// `tool_choice`, so changing those misses the messages while tools and system stay cached.
//
// Tokens: `ceil(chars / 4)` of the request's JSON (system + tools + messages, `cache_control`
// markers and unknown block types left out); a block's prefix count is `ceil(chars so far / 4)`,
// so the prefix counts and the total are consistent and `read + creation + input = total`.

import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import type { Anchor } from './cache-control';
import type { MessagesView } from './compaction';
import {
  canonicalBlock,
  KNOWN_BLOCK_TYPES,
  messageBlocks,
  stableStringify,
  textBlocks,
  withoutCacheControl,
} from './canonical';
import { concatBytes, sha256, utf8 } from './crypto';
import type { Speed } from './latency';
import type { ValidRequest } from './validate';

type Obj = Record<string, unknown>;

interface LayoutBlock {
  /** Hex hash of the prefix through this block (cache key). */
  hash: string;
  /** Tokens of the prefix through this block. */
  tokens: number;
}

export interface PromptLayout {
  blocks: LayoutBlock[];
  /** Tokens of the whole prompt (what `input_tokens` is without caching). */
  totalTokens: number;
  /** The block a breakpoint marks (undefined: a block the layout skips). */
  position(anchor: Anchor): number | undefined;
}

/** What, besides content, shapes the messages part of the prompt. */
export function promptConfig(req: ValidRequest): Obj {
  const { thinking, params } = req;
  const choice = (params.tool_choice ?? { type: 'auto' }) as Obj;
  return {
    thinking: {
      type: thinking.type,
      budget_tokens: thinking.budgetTokens ?? null,
      effort: thinking.effort,
    },
    tool_choice: {
      type: choice.type,
      name: choice.name ?? null,
      disable_parallel_tool_use: choice.disable_parallel_tool_use === true,
    },
  };
}

const jsonLength = (value: unknown) => JSON.stringify(value ?? null).length;
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
const isKnown = (b: unknown) => KNOWN_BLOCK_TYPES.has(String((b as Obj)?.type));

/** A message content block without its markers (tool_result content included). */
function stripBlock(block: Obj): Obj {
  const out = withoutCacheControl(block);
  if (block.type === 'tool_result' && Array.isArray(block.content))
    out.content = (block.content as Obj[]).map(withoutCacheControl);
  return out;
}

class Chain {
  readonly blocks: LayoutBlock[] = [];
  /** Characters of the prompt so far. */
  chars = 0;
  private constructor(private head: Uint8Array) {}

  static async start(model: string, speed: Speed): Promise<Chain> {
    return new Chain((await sha256(stableStringify({ model, speed }))).slice(0, 16));
  }

  async mix(part: unknown): Promise<void> {
    this.head = (await sha256(concatBytes(this.head, utf8(stableStringify(part))))).slice(0, 16);
  }

  /** Characters that belong to no block (brackets, skipped blocks). */
  skip(chars: number): void {
    this.chars += chars;
  }

  /** Adds a block of `chars` characters; returns its position. */
  async push(part: unknown, chars: number): Promise<number> {
    this.chars += chars;
    await this.mix(part);
    this.blocks.push({ hash: hex(this.head), tokens: Math.ceil(this.chars / 4) });
    return this.blocks.length - 1;
  }

  /** A JSON list: `[`, items with `,` between them, `]`; returns the items' positions. */
  async list(items: readonly Obj[], part: (item: Obj, i: number) => unknown): Promise<number[]> {
    const positions: number[] = [];
    this.skip(1);
    for (const [i, item] of items.entries())
      positions.push(await this.push(part(item, i), jsonLength(item) + (i > 0 ? 1 : 0)));
    this.skip(1);
    return positions;
  }
}

async function messagePositions(chain: Chain, messages: readonly MessageParam[]) {
  const positions: (number | undefined)[][] = [];
  chain.skip(1); // `[`
  for (const [i, message] of messages.entries()) {
    const separator = i > 0 ? 1 : 0;
    const blocks = messageBlocks(message) as Obj[];
    const known = typeof message.content === 'string' ? [] : blocks.filter(isKnown).map(stripBlock);
    const stripped = typeof message.content === 'string' ? message : { ...message, content: known };
    const part = (b: unknown) => ({ message: i, role: message.role, block: canonicalBlock(b) });
    const row: (number | undefined)[] = [];
    if (typeof message.content === 'string') {
      if (blocks.length)
        row.push(await chain.push(part(blocks[0]), separator + jsonLength(message)));
      else chain.skip(separator + jsonLength(message));
    } else {
      const lengths = known.map(jsonLength);
      const commas = Math.max(0, known.length - 1);
      // The message's own keys and brackets count with its first block.
      let overhead = separator + jsonLength(stripped) - lengths.reduce((n, l) => n + l, 0) - commas;
      let k = 0;
      for (const block of blocks) {
        if (!isKnown(block)) {
          row.push(undefined);
          continue;
        }
        row.push(await chain.push(part(block), overhead + lengths[k]! + (k > 0 ? 1 : 0)));
        overhead = 0;
        k++;
      }
      chain.skip(overhead); // a message without known blocks
    }
    positions.push(row);
  }
  chain.skip(1); // `]`
  return positions;
}

/**
 * `view`: the messages the model sees (after compaction) and where the request's breakpoints land
 * in them; a breakpoint on a dropped block marks nothing.
 */
export async function promptLayout(
  req: ValidRequest,
  speed: Speed,
  view: MessagesView,
): Promise<PromptLayout> {
  const { system, tools } = req.params;
  const { messages } = view;
  const chain = await Chain.start(req.params.model, speed);

  let toolPositions: number[] = [];
  if (Array.isArray(tools))
    toolPositions = await chain.list(
      (tools as unknown as Obj[]).map(withoutCacheControl),
      (tool) => ({ tool }),
    );
  else if (tools !== undefined) chain.skip(jsonLength(tools));

  let systemPositions: number[] = [];
  if (Array.isArray(system))
    systemPositions = await chain.list(
      (system as unknown as Obj[]).map(withoutCacheControl),
      (b) => ({
        system: canonicalBlock(b),
      }),
    );
  else if (typeof system === 'string') {
    if (system === '') chain.skip(2);
    else
      systemPositions = [
        await chain.push({ system: canonicalBlock(textBlocks(system)[0]) }, jsonLength(system)),
      ];
  }

  await chain.mix({ config: promptConfig(req) });
  const messagePos = await messagePositions(chain, messages);

  const blocks = chain.blocks;
  return {
    blocks,
    totalTokens: Math.max(1, Math.ceil(chain.chars / 4)),
    position(anchor) {
      switch (anchor.part) {
        case 'tools':
          return toolPositions[anchor.index];
        case 'system':
          return systemPositions[anchor.index];
        case 'messages': {
          const at = view.locate(anchor.index, anchor.block);
          return at && messagePos[at.index]?.[at.block];
        }
        case 'top':
          return blocks.length ? blocks.length - 1 : undefined;
      }
    },
  };
}
