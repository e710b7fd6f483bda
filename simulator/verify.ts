// Replay verification of thinking blocks (reference §3.2, §3.3), stateless:
//  - every thinking / redacted_thinking block must be sealed by this simulator and bound to its
//    prefix (system, tools, earlier messages, earlier blocks of its message);
//  - in a tool loop, the latest assistant message must come back exactly as issued.
// Both run over the history the model sees: the checked prefix starts at the most recent
// compaction block (reference long-conversations §1, "preserved thinking").

import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { blockPrefixHash, KNOWN_BLOCK_TYPES, messageBlocks } from './canonical';
import type { ConversationView, Position } from './compaction';
import { bytesEqual, type Hmac } from './crypto';
import { invalid } from './errors';
import {
  openThinking,
  readToolUseId,
  summaryHash,
  verifyToolUseId,
  type SealedKind,
  type ThinkingClaims,
} from './signatures';
import type { ValidRequest } from './validate';

type Block = Record<string, unknown>;

/** Error texts; positions are the request's (`messages.<i>.content.<j>`). */
const ERRORS = {
  prefix: ({ index: i, block: j }: Position, kind: SealedKind) =>
    kind === 'thinking'
      ? `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block. The block is bound to a different conversation. Remove the block, or set \`thinking.block_binding.prefix_mismatch_behavior\` to "drop_block".`
      : `messages.${i}.content.${j}: Invalid \`data\` in \`redacted_thinking\` block. The block is bound to a different conversation. Remove the block, or set \`thinking.block_binding.prefix_mismatch_behavior\` to "drop_block".`,
  modified: ({ index: i, block: j }: Position) =>
    `messages.${i}.content.${j}: \`thinking\` or \`redacted_thinking\` blocks in the latest assistant message cannot be modified. These blocks must remain as they were in the original response.`,
  mustStartWithThinking: ({ index: i, block: j }: Position, found: string) =>
    `messages.${i}.content.${j}.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${found}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking`,
};

export interface Verification {
  /** The assistant message a tool loop continues (null outside a tool loop). */
  loopIndex: number | null;
  /** That message still carries thinking blocks (otherwise thinking is off for this step). */
  loopHasThinking: boolean;
}

const isSealed = (b: Block): b is Block & { type: SealedKind } =>
  b.type === 'thinking' || b.type === 'redacted_thinking';

type Check = 'ok' | 'forged' | 'other-prefix' | 'moved';

async function checkSealed(
  hmac: Hmac,
  block: Block & { type: SealedKind },
  prefix: Uint8Array,
  before: readonly Block[],
): Promise<{ result: Check; claims: ThinkingClaims | null }> {
  const sealed = block.type === 'thinking' ? block.signature : block.data;
  const claims = await openThinking(hmac, sealed, block.type);
  if (!claims) return { result: 'forged', claims };
  if (!bytesEqual(claims.prefix, prefix)) return { result: 'other-prefix', claims };
  const moved =
    claims.position !== before.length ||
    !bytesEqual(claims.blockPrefix, await blockPrefixHash(before)) ||
    (claims.summarized && !bytesEqual(claims.summary, await summaryHash(String(block.thinking))));
  return { result: moved ? 'moved' : 'ok', claims };
}

/** Any assistant message except the one a tool loop continues. */
async function verifyEarlier(
  hmac: Hmac,
  at: (j: number) => Position,
  blocks: Block[],
  prefix: Uint8Array,
  dropMismatched: boolean,
): Promise<void> {
  const before: Block[] = [];
  for (const [j, block] of blocks.entries()) {
    if (isSealed(block)) {
      const { result } = await checkSealed(hmac, block, prefix, before);
      if (result !== 'ok' && !dropMismatched) throw invalid(ERRORS.prefix(at(j), block.type));
    }
    if (KNOWN_BLOCK_TYPES.has(String(block.type))) before.push(block);
  }
}

/** The latest assistant message of a tool loop: it must be exactly as issued. */
async function verifyLatest(
  hmac: Hmac,
  req: ValidRequest,
  at: (j: number) => Position,
  blocks: Block[],
  prefix: Uint8Array,
): Promise<boolean> {
  const sealedCount = blocks.filter(isSealed).length;
  const issuedWithThinking = Math.max(
    0,
    ...blocks.map((b) => (b.type === 'tool_use' ? (readToolUseId(b.id)?.thinkingBefore ?? 0) : 0)),
  );
  if (issuedWithThinking === 0 && sealedCount === 0) return false; // nothing to protect
  const { thinking } = req;
  if (sealedCount === 0) {
    if (thinking.type === 'enabled')
      throw invalid(ERRORS.mustStartWithThinking(at(0), String(blocks[0]?.type)));
    if (!thinking.upFront && thinking.type !== 'between_tools') return false; // off: may be dropped
    throw invalid(ERRORS.modified(at(0)));
  }

  const before: Block[] = [];
  let sealedSeen = 0;
  let lastCovered = -1;
  for (const [j, block] of blocks.entries()) {
    if (isSealed(block)) {
      const { result } = await checkSealed(hmac, block, prefix, before);
      if (result === 'other-prefix') {
        if (thinking.dropMismatchedBlocks) return false;
        throw invalid(ERRORS.prefix(at(j), block.type));
      }
      if (result !== 'ok') throw invalid(ERRORS.modified(at(j)));
      sealedSeen++;
    } else if (block.type === 'tool_use' && readToolUseId(block.id)) {
      const ok = await verifyToolUseId(hmac, String(block.id), {
        prefix,
        blockPrefix: await blockPrefixHash(before),
        position: before.length,
        thinkingBefore: sealedSeen,
        name: String(block.name),
        input: block.input,
      });
      if (!ok) throw invalid(ERRORS.modified(at(j)));
      lastCovered = j;
    }
    if (KNOWN_BLOCK_TYPES.has(String(block.type))) before.push(block);
  }
  // Blocks appended after the last sealed tool_use were never issued.
  const extra = blocks.findIndex(
    (b, j) => j > lastCovered && KNOWN_BLOCK_TYPES.has(String(b.type)),
  );
  if (lastCovered >= 0 && extra >= 0) throw invalid(ERRORS.modified(at(extra)));
  return true;
}

/** `prefixes[i]`: the binding of the view's messages before `i` (from `prefixChain`). */
export async function verifyConversation(
  hmac: Hmac,
  req: ValidRequest,
  view: ConversationView,
  prefixes: readonly Uint8Array[],
): Promise<Verification> {
  const messages: readonly MessageParam[] = view.messages;
  const last = messages[messages.length - 1]!;
  const inLoop =
    last.role === 'user' &&
    messageBlocks(last).some((b) => (b as Block).type === 'tool_result') &&
    messages[messages.length - 2]?.role === 'assistant';
  const loopIndex = inLoop ? messages.length - 2 : null;

  let loopHasThinking = false;
  for (const [i, message] of messages.entries()) {
    if (message.role !== 'assistant') continue;
    const blocks = messageBlocks(message) as Block[];
    const relevant = blocks.some(
      (b) => isSealed(b) || (b.type === 'tool_use' && readToolUseId(b.id)),
    );
    if (!relevant) continue;
    const prefix = prefixes[i]!;
    const at = (j: number) => view.origin(i, j);
    if (i === loopIndex) loopHasThinking = await verifyLatest(hmac, req, at, blocks, prefix);
    else await verifyEarlier(hmac, at, blocks, prefix, req.thinking.dropMismatchedBlocks);
  }
  return { loopIndex, loopHasThinking };
}
