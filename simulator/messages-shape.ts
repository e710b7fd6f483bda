// Structural checks of `messages`: roles, alternation, block shapes, and the pairing of
// tool_use ids with the tool_result blocks of the next user message.

import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { messageBlocks } from './canonical';
import { endsWithCompaction, holdsCompaction } from './compaction';
import { invalid } from './errors';

type Obj = Record<string, unknown>;

const ASSISTANT_ONLY = new Set([
  'thinking',
  'redacted_thinking',
  'tool_use',
  'server_tool_use',
  'compaction',
]);
const USER_ONLY = new Set(['tool_result']);

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkBlock(block: unknown, role: string, at: string): void {
  if (!isObject(block) || typeof block.type !== 'string')
    throw invalid(`${at}.type: Field required`);
  const type = block.type;
  if (role !== 'assistant' && ASSISTANT_ONLY.has(type))
    throw invalid(`${at}.type: \`${type}\` blocks are only allowed in \`assistant\` messages`);
  if (role !== 'user' && USER_ONLY.has(type))
    throw invalid(`${at}.type: \`${type}\` blocks are only allowed in \`user\` messages`);
  if (role === 'system' && type !== 'text')
    throw invalid(`${at}.type: \`system\` messages may only contain \`text\` blocks`);
  const need = (field: string, kind: 'string' | 'object') => {
    const ok = kind === 'string' ? typeof block[field] === 'string' : isObject(block[field]);
    if (!ok) throw invalid(`${at}.${field}: Field required`);
  };
  switch (type) {
    case 'text':
      need('text', 'string');
      if (block.text === '') throw invalid(`${at}: text content blocks must be non-empty`);
      break;
    case 'thinking':
      need('thinking', 'string');
      need('signature', 'string');
      break;
    case 'redacted_thinking':
      need('data', 'string');
      break;
    case 'tool_use':
      need('id', 'string');
      need('name', 'string');
      need('input', 'object');
      break;
    case 'tool_result':
      need('tool_use_id', 'string');
      break;
    case 'compaction':
      // `content: null` (a failed compaction) is accepted and ignored; an empty summary is not.
      if (
        block.content !== undefined &&
        block.content !== null &&
        typeof block.content !== 'string'
      )
        throw invalid(`${at}.content: Input should be a valid string`);
      if (block.content === '')
        throw invalid(`${at}.content: compaction content must be non-empty`);
      if (
        block.encrypted_content !== undefined &&
        block.encrypted_content !== null &&
        typeof block.encrypted_content !== 'string'
      )
        throw invalid(`${at}.encrypted_content: Input should be a valid string`);
      break;
  }
}

function idsOf(message: MessageParam | undefined, type: 'tool_use' | 'tool_result'): string[] {
  if (!message) return [];
  return messageBlocks(message)
    .filter((b) => (b as Obj).type === type)
    .map((b) => String(type === 'tool_use' ? (b as Obj).id : (b as Obj).tool_use_id));
}

function checkToolPairing(messages: readonly MessageParam[]): void {
  messages.forEach((message, i) => {
    if (message.role === 'user') {
      const previous = messages[i - 1];
      const open = new Set(previous?.role === 'assistant' ? idsOf(previous, 'tool_use') : []);
      messageBlocks(message).forEach((b, k) => {
        if ((b as Obj).type !== 'tool_result') return;
        const id = String((b as Obj).tool_use_id);
        if (!open.delete(id))
          throw invalid(
            `messages.${i}.content.${k}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
          );
      });
    }
    if (message.role === 'assistant') {
      const ids = idsOf(message, 'tool_use');
      const next = messages[i + 1];
      const answered = new Set(next?.role === 'user' ? idsOf(next, 'tool_result') : []);
      const missing = ids.filter((id) => !answered.has(id));
      if (missing.length)
        throw invalid(
          `messages.${i}: tool_use ids were found without tool_result blocks immediately after: ${missing.join(', ')}. Each tool_use block must have a corresponding tool_result block in the next message.`,
        );
    }
  });
}

/** Validates `messages` and returns them typed. `allowPrefill`: may the last one be assistant. */
export function checkMessages(raw: unknown, allowPrefill: boolean): MessageParam[] {
  if (raw === undefined) throw invalid('messages: Field required');
  if (!Array.isArray(raw)) throw invalid('messages: Input should be a valid list');
  if (raw.length === 0) throw invalid('messages: at least one message is required');

  let lastRole: string | undefined;
  raw.forEach((m: unknown, i) => {
    if (!isObject(m)) throw invalid(`messages.${i}: Input should be a valid dictionary`);
    const role = m.role;
    if (role !== 'user' && role !== 'assistant' && role !== 'system')
      throw invalid(`messages.${i}.role: Input should be 'user', 'assistant' or 'system'`);
    // After a compaction the history may start at the assistant message holding the block.
    if (i === 0 && role !== 'user' && !(role === 'assistant' && holdsCompaction(m)))
      throw invalid('messages: first message must use the "user" role');
    const content = m.content;
    if (typeof content !== 'string' && !Array.isArray(content))
      throw invalid(`messages.${i}.content: Input should be a valid string or list`);
    const isFinalAssistant = i === raw.length - 1 && role === 'assistant';
    if (content.length === 0 && !isFinalAssistant)
      throw invalid(
        `messages.${i}: all messages must have non-empty content except for the optional final assistant message`,
      );
    if (Array.isArray(content))
      content.forEach((b: unknown, j) => checkBlock(b, role, `messages.${i}.content.${j}`));
    if (role === 'system') return; // mid-conversation instructions do not take a turn
    if (role === lastRole)
      throw invalid(
        `messages: roles must alternate between "user" and "assistant", but found multiple "${role}" roles in a row`,
      );
    lastRole = role;
  });

  const messages = raw as MessageParam[];
  const last = messages[messages.length - 1]!;
  // A compaction block sent back after `pause_after_compaction` is continued, not prefilled.
  if (last.role === 'assistant' && !allowPrefill && !endsWithCompaction(last))
    throw invalid(
      'This model does not support assistant message prefill. The conversation must end with a user message.',
    );
  if (last.role === 'system')
    throw invalid('messages: the final message must not be a "system" message');
  checkToolPairing(messages);
  return messages;
}
