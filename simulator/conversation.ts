// Reads what the simulated model "sees": the latest user text turn (and its directives), how
// many tool steps the current loop has taken, and the latest tool results.

import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { messageBlocks } from './canonical';
import { parseDirectives, stripDirectives, type Directives } from './directives';

type Block = Record<string, unknown>;

export interface Conversation {
  /** Text of the most recent user text message, directives removed. */
  userText: string;
  directives: Directives;
  /** Assistant messages with tool_use since that user text message. */
  toolStepsDone: number;
  /** Tool results of the last user message (empty outside a tool loop). */
  toolResults: { name: string; text: string; isError: boolean }[];
}

export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((b: Block) => b?.type === 'text' && typeof b.text === 'string')
    .map((b: Block) => b.text as string)
    .join('\n');
}

export function isUserTextTurn(message: MessageParam): boolean {
  if (message.role !== 'user') return false;
  const blocks = messageBlocks(message) as Block[];
  return !blocks.some((b) => b.type === 'tool_result') && textOf(message.content) !== '';
}

function latestUserText(messages: readonly MessageParam[]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (isUserTextTurn(messages[i]!)) return i;
  return -1;
}

/**
 * `messages`: what the model sees (after compaction). When they hold no user text turn (a tool
 * loop or a pause that continues right after a compaction block), the request's turn is the one
 * the summary covers: it is read from `all`, the request's messages.
 */
export function readConversation(
  messages: readonly MessageParam[],
  all: readonly MessageParam[] = messages,
): Conversation {
  let source = messages;
  let start = latestUserText(messages);
  if (start < 0) {
    source = all;
    start = latestUserText(all);
  }
  const raw = start >= 0 ? textOf(source[start]!.content) : '';
  const toolStepsDone = source
    .slice(start + 1)
    .filter(
      (m) =>
        m.role === 'assistant' && (messageBlocks(m) as Block[]).some((b) => b.type === 'tool_use'),
    ).length;

  const last = messages[messages.length - 1]!;
  const previous = messages[messages.length - 2];
  const names = new Map<string, string>();
  if (previous?.role === 'assistant')
    for (const b of messageBlocks(previous) as Block[])
      if (b.type === 'tool_use') names.set(String(b.id), String(b.name));
  const toolResults =
    last.role === 'user'
      ? (messageBlocks(last) as Block[])
          .filter((b) => b.type === 'tool_result')
          .map((b) => ({
            name: names.get(String(b.tool_use_id)) ?? 'tool',
            text: textOf(b.content),
            isError: b.is_error === true,
          }))
      : [];

  return {
    userText: stripDirectives(raw),
    directives: parseDirectives(raw),
    toolStepsDone,
    toolResults,
  };
}
