// Compaction blocks (reference long-conversations §1A). On every request the API ignores every
// content block before the latest `compaction` block that has content: `conversationView` is
// that effective history, what token counting, the prompt cache, thinking verification, the
// tool-loop check and the directives read. A compaction this request triggers is summarised here
// too, and its `encrypted_content` sealed; a replayed block must come back unchanged.

import type { BetaCompactionBlock } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { KNOWN_BLOCK_TYPES, messageBlocks } from './canonical';
import { isUserTextTurn, textOf } from './conversation';
import type { Hmac } from './crypto';
import { stripDirectives } from './directives';
import { invalid } from './errors';
import { openCompaction, sealCompaction } from './signatures';

type Obj = Record<string, unknown>;

export interface Position {
  index: number;
  block: number;
}

/** Messages as the model sees them, with the way back to the request's positions. */
export interface MessagesView {
  messages: MessageParam[];
  /** Where a request block (message `index`, block `block`) is in the view; undefined: dropped. */
  locate(index: number, block: number): Position | undefined;
}

export interface ConversationView extends MessagesView {
  /** The request's messages. */
  all: readonly MessageParam[];
  /** Where a block of the view is in the request (for error paths). */
  origin(index: number, block: number): Position;
  /** The latest compaction block with content, at its request position (null: none). */
  boundary: Position | null;
  /**
   * The request ends with an assistant message whose last block is a compaction block (sent
   * back after `pause_after_compaction`): the answer continues that message.
   */
  continuation: boolean;
}

/** A compaction block that counts: a summary (`content: null` is a failed one, a no-op). */
const isBoundary = (block: unknown): boolean =>
  (block as Obj)?.type === 'compaction' && typeof (block as Obj).content === 'string';

/** Does this message hold a compaction block with content? */
export const holdsCompaction = (message: { content?: unknown }): boolean =>
  Array.isArray(message.content) && message.content.some(isBoundary);

/** Is the message's last block a compaction block with content? */
export function endsWithCompaction(message: { content?: unknown }): boolean {
  if (!Array.isArray(message.content)) return false;
  const known = message.content.filter((b: Obj) => KNOWN_BLOCK_TYPES.has(String(b?.type)));
  return isBoundary(known.at(-1));
}

export function conversationView(all: readonly MessageParam[]): ConversationView {
  let boundary: Position | null = null;
  for (let i = all.length - 1; i >= 0 && !boundary; i--) {
    const blocks = messageBlocks(all[i]!);
    for (let j = blocks.length - 1; j >= 0; j--)
      if (isBoundary(blocks[j])) {
        boundary = { index: i, block: j };
        break;
      }
  }
  const offset = boundary?.index ?? 0;
  const skip = boundary?.block ?? 0;
  const messages = boundary
    ? [
        { ...all[offset]!, content: (all[offset]!.content as unknown[]).slice(skip) },
        ...all.slice(offset + 1),
      ]
    : [...all];
  const last = messages[messages.length - 1]!;
  return {
    all,
    messages: messages as MessageParam[],
    boundary,
    continuation: last.role === 'assistant' && endsWithCompaction(last),
    locate(index, block) {
      if (index < offset || (index === offset && block < skip)) return undefined;
      return { index: index - offset, block: index === offset ? block - skip : block };
    },
    origin(index, block) {
      return { index: index + offset, block: index === 0 ? block + skip : block };
    },
  };
}

/**
 * The prompt of the message iteration after a compaction: the summary block (as the first block
 * of an assistant message) followed by the request's last user message, the one being answered.
 */
export function compactedView(view: ConversationView, block: BetaCompactionBlock): MessagesView {
  const lastIndex = view.all.length - 1;
  const last = view.all[lastIndex]!;
  const keepLast = last.role === 'user';
  return {
    messages: [{ role: 'assistant', content: [block as never] }, ...(keepLast ? [last] : [])],
    locate: (index, block) => (keepLast && index === lastIndex ? { index: 1, block } : undefined),
  };
}

const EXCERPT_WORDS = 8;
const MAX_EXCERPTS = 5;

function excerpt(text: string, words = EXCERPT_WORDS): string {
  const all = stripDirectives(text).split(/\s+/).filter(Boolean);
  return `"${all.slice(0, words).join(' ')}${all.length > words ? '…' : ''}"`;
}

/**
 * The summary a compaction writes: deterministic and short (a few hundred characters), the first
 * words of each user text message the model sees (the first two and last three when there are
 * more than five).
 */
function compactionSummary(view: ConversationView, instructions: string | null): string {
  let turns = view.messages.filter(isUserTextTurn);
  if (turns.length === 0) turns = view.all.filter(isUserTextTurn);
  const excerpts = turns.map((m) => excerpt(textOf(m.content)));
  const shown =
    excerpts.length > MAX_EXCERPTS
      ? [...excerpts.slice(0, 2), '…', ...excerpts.slice(-(MAX_EXCERPTS - 2))]
      : excerpts;
  const n = turns.length;
  const parts = [
    'Summary of the conversation so far:',
    view.boundary ? 'it continues an earlier summary;' : '',
    n ? `the user wrote ${shown.join('; ')} (${n} user message${n > 1 ? 's' : ''}).` : '',
    'The assistant answered each message in turn.',
    instructions ? `Written following the instructions ${excerpt(instructions, 12)}.` : '',
  ];
  return parts.filter(Boolean).join(' ');
}

/** A new compaction block: the summary and its sealed `encrypted_content`. */
export async function compactionBlock(
  hmac: Hmac,
  view: ConversationView,
  instructions: string | null,
): Promise<BetaCompactionBlock> {
  const content = compactionSummary(view, instructions);
  return { type: 'compaction', content, encrypted_content: await sealCompaction(hmac, content) };
}

const modified = (i: number, j: number) =>
  `messages.${i}.content.${j}: The \`compaction\` block was modified. Compaction blocks must be passed back unchanged, exactly as the API returned them.`;

/** Every compaction block with content must be one this simulator issued, unchanged. */
export async function verifyCompactionBlocks(
  hmac: Hmac,
  messages: readonly MessageParam[],
): Promise<void> {
  for (const [i, message] of messages.entries()) {
    if (message.role !== 'assistant') continue;
    for (const [j, block] of (messageBlocks(message) as Obj[]).entries()) {
      if (!isBoundary(block)) continue;
      if (!(await openCompaction(hmac, block.encrypted_content, String(block.content))))
        throw invalid(modified(i, j));
    }
  }
}
