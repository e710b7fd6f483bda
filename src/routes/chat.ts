/**
 * `POST /v1/chat`: one turn of a conversation, answered as JSON or SSE (API.md §3).
 * validate → conversation store → thinking plan → upstream → stream out.
 */
import type { MessageParam, ToolResultBlockParam } from '@anthropic-ai/sdk/resources/messages';
import { type Context, Hono } from 'hono';
import { cacheTtlFor, withCacheBreakpoints } from '../anthropic/caching';
import { planLatency } from '../anthropic/latency';
import { pickModel } from '../anthropic/models';
import { planThinking, type ThinkingRequest } from '../anthropic/thinking';
import { type AppEnv, settings } from '../env';
import { ApiError, invalid } from '../errors';
import { sameJson } from '../json';
import { wantsEventStream } from '../sse';
import {
  type Conversation,
  loadConversation,
  newConversationId,
  pendingToolUseIds,
} from '../store/conversations';
import type { KeyRecord } from '../store/keys';
import { admit, cancelTurn, requestTurn, withdraw } from '../limits/admission';
import type { TurnInput } from '../turn';
import { conflict, type RunResult, sequencer } from '../turn-runner';
import { parseWith, readJson } from '../validation';
import { type ChatRequest, chatRequest } from './chat-request';

export const chat = new Hono<AppEnv>();

chat.post('/', async (c) => {
  const body = parseWith(chatRequest, await readJson(c));
  // The limiter and the conversation store are asked at once: neither needs the other's
  // answer, and both stand between the request and Claude's first token. A turn the route
  // or the conversation then refuses is given back: a refused request costs nothing.
  const asking = requestTurn(c);
  asking.catch(() => {}); // settled below; this only keeps an early rejection "handled"
  let turn: PreparedTurn;
  try {
    turn = await prepareTurn(c, body);
  } catch (err) {
    await withdraw(c.env, asking);
    throw err;
  }
  const { input, stored } = turn;
  const { conversation } = input;
  const key = c.get('apiKey');
  const config = settings(c.env);
  const ticket = admit(c, await asking);
  const stream = wantsEventStream(c.req.header('accept'), body.stream);
  const log = c.get('log');
  Object.assign(log, {
    request_id: c.get('requestId'),
    method: c.req.method,
    route: c.req.routePath,
    key_id: key.id,
    conversation_id: conversation.id,
    model: input.params.model,
  });
  const idempotencyKey = c.req.header('idempotency-key');
  const result = await sequencer(c.env, key.id, conversation.id).run({
    input,
    knownTurns: stored ? stored.turns : null,
    ticket,
    stream,
    pingIntervalMs: config.pingIntervalMs,
    log,
    startedAt: c.get('startedAt'),
    ...(stream && idempotencyKey ? { idempotencyKey } : {}),
  });
  if (!result.ok) {
    await cancelTurn(c.env, ticket);
    throw conflict(result.reason, result.committedTurns);
  }
  // The run writes this request's log line when the turn ends.
  c.set('logDelegated', true);
  if (result.kind === 'stream') {
    // The run stores a streamed answer for Idempotency-Key itself, when the stream ends.
    c.set('idempotencyDelegated', true);
    return c.body(result.stream, 200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
  }
  // (The RPC stub's result type loses the union's narrowing.)
  const { report } = result as unknown as Extract<RunResult, { kind: 'report' }>;
  if (!report.ok) {
    const { type, message, status, headers } = report.error;
    throw new ApiError(type, message, status, headers);
  }
  return c.json(report.answer);
});

interface PreparedTurn {
  input: TurnInput;
  /** The conversation as read from KV; null when this request starts one. */
  stored: Conversation | null;
}

/** Reads the conversation, checks the turn against it and plans the upstream request. */
async function prepareTurn(c: Context<AppEnv>, body: ChatRequest): Promise<PreparedTurn> {
  const key = c.get('apiKey');
  const config = settings(c.env);
  const stored = body.conversation_id
    ? await loadConversation(c.env.CONVERSATIONS, key.id, body.conversation_id)
    : null;
  if (body.conversation_id && !stored) {
    throw new ApiError(
      'not_found_error',
      `conversation_id: "${body.conversation_id}" was not found. It may have expired or been deleted; omit conversation_id to start a new conversation.`,
    );
  }
  const conversation = stored ? continuing(stored, body) : starting(key, body);

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
  const input: TurnInput = {
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
      },
      cacheTtlFor(key.prompt_cache_ttl, config.promptCacheTtl),
    ),
    betas: latency.betas,
    ttlSeconds: config.conversationTtlSeconds,
    idleTimeoutMs: config.upstreamIdleTimeoutMs,
  };
  return { input, stored };
}

function starting(key: KeyRecord, body: ChatRequest): Conversation {
  if (body.tool_results) {
    throw invalid(
      'tool_results answer the tool calls of an existing conversation: send its conversation_id.',
    );
  }
  const now = new Date().toISOString();
  return {
    id: newConversationId(),
    key_id: key.id,
    model: '',
    ...(body.system !== undefined ? { system: body.system } : {}),
    ...(body.tools ? { tools: body.tools as Conversation['tools'] } : {}),
    ...(body.thinking ? { thinking: body.thinking as ThinkingRequest } : {}),
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
  if (body.thinking === undefined || sameJson(body.thinking, stored.thinking)) return stored;
  if (body.tool_results) {
    throw invalid(
      'thinking: the thinking configuration cannot change inside a tool loop (Claude would silently drop thinking for the rest of the turn). Omit "thinking" here and change it on the next user message.',
    );
  }
  // A deliberate change on a new user turn: honoured (it costs the cached messages once)
  // and recorded, so the transcript shows when the conversation's thinking changed.
  const thinking = body.thinking as ThinkingRequest;
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
        `The conversation is waiting for the results of tool calls ${pending.join(', ')}: send them as "tool_results" before a new message.`,
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
  const given = results.map((r) => r.tool_use_id);
  const duplicate = given.find((id, i) => given.indexOf(id) !== i);
  if (duplicate) throw invalid(`tool_results: "${duplicate}" is answered more than once.`);
  const unknown = given.filter((id) => !pending.includes(id));
  if (unknown.length > 0) {
    throw invalid(
      `tool_results: ${unknown.join(', ')} is not a pending tool call. Pending: ${pending.join(', ')}.`,
    );
  }
  const missing = pending.filter((id) => !given.includes(id));
  if (missing.length > 0) {
    throw invalid(
      `tool_results: every pending tool call needs a result; missing ${missing.join(', ')}.`,
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
