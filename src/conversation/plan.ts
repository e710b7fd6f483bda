/**
 * Plans one turn against its conversation: the checks a turn must pass (system and tools
 * fixed, thinking changed only on a new user message, tool results answering exactly the
 * pending calls, a forced tool that exists), the model and thinking plan, and the upstream
 * request. Pure: the conversation's Durable Object calls it with what it has stored.
 */
import type { MessageParam, ToolResultBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { cacheTtlFor, withCacheBreakpoints } from '../anthropic/caching';
import { COMPACTION_BETA, compactionConfig } from '../anthropic/compaction';
import { planLatency } from '../anthropic/latency';
import { pickModel } from '../anthropic/models';
import { planThinking } from '../anthropic/thinking';
import type { Settings } from '../config';
import type { ChatRequest } from '../contract/chat-request';
import { thinkingRequest } from '../contract/thinking';
import { ApiError, invalid } from '../errors';
import { sameJson } from '../lib/json';
import { type Conversation, pendingToolUseIds } from '../store/conversations';
import type { KeyRecord } from '../store/keys';
import type { TurnInput } from './turn';

export interface TurnRequest {
  body: ChatRequest;
  key: KeyRecord;
  /** The conversation's id: the request's, or a new one when it starts a conversation. */
  conversationId: string;
  /**
   * Whose conversations the request reaches (`Caller.scope`): the key's id, or the key's and
   * an end user's for a token bound to one. Absent: the key's id.
   */
  scope?: string;
}

/** The id conversations are stored and addressed under for this request. */
export const scopeOf = (request: Pick<TurnRequest, 'key' | 'scope'>) =>
  request.scope ?? request.key.id;

/**
 * The upstream request for this turn, or the 4xx that says why the turn cannot be taken.
 * `stored` is the conversation as it stands (null: none, or a new one).
 */
export function planTurn(
  config: Settings,
  request: TurnRequest,
  stored: Conversation | null,
): TurnInput {
  const { body, key } = request;
  if (body.conversation_id && !stored) {
    throw new ApiError(
      'not_found_error',
      `conversation_id: "${body.conversation_id}" was not found. It may have expired or been deleted; omit conversation_id to start a new conversation.`,
    );
  }
  const conversation = stored
    ? continuing(stored, body)
    : starting(scopeOf(request), body, request.conversationId);

  const model = pickModel(body.model ?? stored?.model, config.defaultModel, config.allowedModels);
  if (!stored) conversation.model = model.id;
  checkToolChoice(body, conversation);
  const plan = planThinking(
    model,
    conversation.thinking,
    body.max_tokens,
    config.defaultMaxTokens,
    body.tool_choice,
  );
  const latency = planLatency(model, key, body);
  return {
    conversation,
    userMessage: userTurn(stored, body),
    params: withCacheBreakpoints(
      {
        model: model.id,
        max_tokens: plan.max_tokens,
        thinking: plan.thinking,
        ...(plan.output_config ? { output_config: plan.output_config } : {}),
        ...(conversation.system !== undefined ? { system: conversation.system } : {}),
        ...(conversation.tools ? { tools: conversation.tools } : {}),
        ...(body.tool_choice ? { tool_choice: body.tool_choice } : {}),
        ...(latency.speed ? { speed: latency.speed } : {}),
        ...(latency.service_tier ? { service_tier: latency.service_tier } : {}),
        // Lets Anthropic tell this key's end users apart when it looks into abuse.
        ...(body.user !== undefined ? { metadata: { user_id: body.user } } : {}),
        // A conversation that grows past the trigger is summarised by Claude, not ended.
        ...(model.compaction
          ? { context_management: compactionConfig(config.compactAtInputTokens) }
          : {}),
      },
      cacheTtlFor(key.prompt_cache_ttl, config.promptCacheTtl),
    ),
    betas: model.compaction ? [...latency.betas, COMPACTION_BETA] : latency.betas,
    ttlSeconds: config.conversationTtlSeconds,
    idleTimeoutMs: config.upstreamIdleTimeoutMs,
  };
}

function starting(owner: string, body: ChatRequest, id: string): Conversation {
  if (body.tool_results) {
    throw invalid(
      'tool_results answer the tool calls of an existing conversation: send its conversation_id.',
    );
  }
  const now = new Date().toISOString();
  return {
    id,
    key_id: owner,
    model: '',
    ...(body.system !== undefined ? { system: body.system } : {}),
    ...(body.tools ? { tools: body.tools as Conversation['tools'] } : {}),
    ...(body.thinking ? { thinking: thinkingRequest(body.thinking) } : {}),
    created_at: now,
    updated_at: now,
    turns: 0,
    messages: [],
  };
}

/**
 * A continuing turn keeps the conversation's system prompt and tools: Claude binds every
 * stored thinking signature to them, so a change would invalidate the whole history.
 */
function continuing(stored: Conversation, body: ChatRequest): Conversation {
  if (body.system !== undefined && !sameJson(body.system, stored.system)) {
    throw invalid(
      'system: a conversation keeps the system prompt it started with, because Claude binds its stored thinking signatures to it. Omit "system" (or send the same one), or start a new conversation.',
    );
  }
  if (body.tools !== undefined && !sameJson(body.tools, stored.tools)) {
    throw invalid(
      'tools: a conversation keeps the tools it started with, because Claude binds its stored thinking signatures to them. Omit "tools" (or send the same ones), or start a new conversation.',
    );
  }
  if (body.thinking === undefined) return stored;
  const thinking = thinkingRequest(body.thinking);
  if (sameJson(thinking, stored.thinking)) return stored;
  if (body.tool_results) {
    throw invalid(
      'thinking: the thinking configuration cannot change inside a tool loop (Claude would silently drop thinking for the rest of the turn). Omit "thinking" here and change it on the next user message.',
    );
  }
  // A deliberate change on a new user turn: honoured (it costs the cached messages once)
  // and recorded, so the transcript shows when the conversation's thinking changed.
  return {
    ...stored,
    thinking,
    thinking_changes: [
      ...(stored.thinking_changes ?? []),
      { turn: stored.turns + 1, thinking, at: new Date().toISOString() },
    ],
  };
}

function checkToolChoice(body: ChatRequest, conversation: Conversation) {
  const choice = body.tool_choice;
  if (!choice || choice.type === 'auto' || choice.type === 'none') return;
  const names = (conversation.tools ?? []).map((t) => t.name);
  if (names.length === 0) {
    throw invalid(
      'tool_choice: it forces a tool, but the conversation has no tools. Send "tools" when the conversation starts.',
    );
  }
  if (choice.type === 'tool' && !names.includes(choice.name)) {
    throw invalid(
      `tool_choice.name: "${choice.name}" is not one of the conversation's tools (${names.join(', ')}).`,
    );
  }
}

/** The user message of this turn: new content, or the results for every pending tool call. */
function userTurn(stored: Conversation | null, body: ChatRequest): MessageParam {
  const pending = pendingToolUseIds(stored);
  if (body.message !== undefined) {
    if (pending.length > 0) {
      throw invalid(
        `The conversation is waiting for the results of tool calls ${some(pending)}: send them as "tool_results" before a new message.`,
      );
    }
    return { role: 'user', content: body.message as MessageParam['content'] };
  }
  const results = body.tool_results ?? [];
  if (pending.length === 0) {
    throw invalid(
      'tool_results: the conversation has no pending tool calls. Send "message" instead.',
    );
  }
  // Linear (the schema bounds the list's length), and no message echoes more than a few ids.
  const waiting = new Set(pending);
  const seen = new Set<string>();
  const duplicates: string[] = [];
  const unknown: string[] = [];
  for (const { tool_use_id: id } of results) {
    if (seen.has(id)) duplicates.push(id);
    else if (!waiting.has(id)) unknown.push(id);
    seen.add(id);
  }
  if (duplicates.length > 0) {
    throw invalid(`tool_results: ${some(duplicates)} answered more than once.`);
  }
  if (unknown.length > 0) {
    throw invalid(
      `tool_results: ${some(unknown)} ${unknown.length === 1 ? 'is not a pending tool call' : 'are not pending tool calls'}. Pending: ${some(pending)}.`,
    );
  }
  const missing = pending.filter((id) => !seen.has(id));
  if (missing.length > 0) {
    throw invalid(
      `tool_results: every pending tool call needs a result; missing ${some(missing)}.`,
    );
  }
  return {
    role: 'user',
    content: results.map((r): ToolResultBlockParam => ({
      type: 'tool_result',
      tool_use_id: r.tool_use_id,
      content: r.content as ToolResultBlockParam['content'],
      ...(r.is_error !== undefined ? { is_error: r.is_error } : {}),
    })),
  };
}

/** A few ids for a message, quoted and cut short, with how many more there are. */
function some(ids: string[], shown = 5): string {
  const quoted = ids
    .slice(0, shown)
    .map((id) => `"${id.length > 64 ? `${id.slice(0, 64)}…` : id}"`);
  const more = ids.length - shown;
  return more > 0 ? `${quoted.join(', ')} and ${more} more` : quoted.join(', ');
}
