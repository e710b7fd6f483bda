/**
 * Conversations in KV, one value each, scoped by the owning key's id so that another key
 * can never even address them (it gets a 404). The history is append-only and every
 * assistant turn is kept exactly as Claude sent it, thinking and redacted_thinking blocks
 * included: Claude binds each thinking block to everything before it, and in a tool loop
 * the API rejects a latest assistant message that is not replayed unmodified.
 * Key scheme: docs/storage-schema.md.
 */
import type {
  ContentBlock,
  MessageParam,
  TextBlockParam,
  Tool,
} from '@anthropic-ai/sdk/resources/messages';
import type { TurnUsage, VisibleBlock } from '../contract/answer';
import type { ThinkingRequest } from '../contract/thinking';
import { randomToken } from '../lib/crypto';

export interface Conversation {
  id: string;
  key_id: string;
  model: string;
  system?: string | TextBlockParam[];
  tools?: Tool[];
  /** The thinking form the conversation runs with, kept so later turns reuse it. */
  thinking?: ThinkingRequest;
  /**
   * Deliberate thinking changes on new user turns (each one invalidates the cached
   * messages): from which turn on, and to what (`null`: the model's default).
   */
  thinking_changes?: Array<{ turn: number; thinking: ThinkingRequest | null; at: string }>;
  /**
   * Claude's own count of the last turn: its whole input plus its output, which is what the
   * next turn sends as history. For the day's budget check (limits/estimate.ts).
   */
  context_tokens?: number;
  /** Upstream id of the last assistant message, for `diagnostics.previous_message_id`. */
  last_message_id?: string;
  /** How the last turn ended and what it used: a job whose run died after storing it answers from this. */
  last_answer?: { stop_reason: string | null; usage: TurnUsage };
  created_at: string;
  updated_at: string;
  /** Completed assistant turns (refused ones included). */
  turns: number;
  /**
   * Turns whose answer began with a server-side compaction of everything before it: from
   * then on the history is sent upstream from that block (anthropic/compaction.ts).
   */
  compactions?: Array<{ turn: number; at: string; summarized_turns: number }>;
  /**
   * Refused turns: counted, but their exchange is not in `messages` (Claude asks for that);
   * kept here for the transcript: the message refused and what was shown of the answer.
   */
  refusals?: Array<{
    turn: number;
    at: string;
    category: string | null;
    explanation: string | null;
    message?: MessageParam;
    answer?: VisibleBlock[];
  }>;
  /** The Messages API history, byte-faithful: user turns, tool results, assistant turns. */
  messages: MessageParam[];
}

const kvKey = (keyId: string, id: string) => `conv:${keyId}:${id}`;

export function newConversationId(): string {
  return `c_${randomToken(22)}`;
}

export async function loadConversation(
  kv: KVNamespace,
  keyId: string,
  id: string,
): Promise<Conversation | null> {
  return kv.get<Conversation>(kvKey(keyId, id), 'json');
}

export async function saveConversation(
  kv: KVNamespace,
  conversation: Conversation,
  ttlSeconds: number,
) {
  await kv.put(kvKey(conversation.key_id, conversation.id), JSON.stringify(conversation), {
    expirationTtl: ttlSeconds,
  });
}

export async function deleteConversation(kv: KVNamespace, keyId: string, id: string) {
  await kv.delete(kvKey(keyId, id));
}

/** tool_use ids of the last assistant turn that still wait for their tool_result. */
export function pendingToolUseIds(conversation: Conversation | null): string[] {
  const last = conversation?.messages.at(-1);
  if (!last || last.role !== 'assistant' || typeof last.content === 'string') return [];
  return last.content.flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));
}

/** The transcript a client may see: no thinking blocks, no signatures. */
export function transcript(conversation: Conversation) {
  return {
    conversation_id: conversation.id,
    model: conversation.model,
    ...(conversation.system !== undefined ? { system: conversation.system } : {}),
    turns: conversation.turns,
    thinking: conversation.thinking ?? null,
    ...(conversation.thinking_changes?.length
      ? { thinking_changes: conversation.thinking_changes }
      : {}),
    ...(conversation.compactions?.length ? { compactions: conversation.compactions } : {}),
    ...(conversation.refusals?.length ? { refusals: conversation.refusals } : {}),
    created_at: conversation.created_at,
    updated_at: conversation.updated_at,
    messages: conversation.messages.map((m) =>
      m.role === 'assistant' && typeof m.content !== 'string'
        ? { role: m.role, content: (m.content as ContentBlock[]).filter(isVisible) }
        : { role: m.role, content: m.content },
    ),
  };
}

function isVisible(block: { type: string }): boolean {
  return block.type === 'text' || block.type === 'tool_use';
}
