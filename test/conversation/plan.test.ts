/**
 * The pure turn planner (src/conversation/plan.ts): the checks a turn must pass before any
 * upstream call (a known conversation; system and tools fixed; thinking changed only on a new
 * user message; tool results answering exactly the pending calls; a forced tool that exists)
 * and the upstream request it builds (model, max_tokens, thinking with display omitted,
 * cache breakpoints, the conversation's system and tools).
 */
import type {
  ContentBlockParam,
  MessageParam,
  TextBlockParam,
  Tool,
} from '@anthropic-ai/sdk/resources/messages';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settings } from '../../src/config';
import type { ChatRequest } from '../../src/contract/chat-request';
import { planTurn } from '../../src/conversation/plan';
import { ApiError } from '../../src/errors';
import type { Conversation } from '../../src/store/conversations';
import type { KeyRecord } from '../../src/store/keys';

/** Fixed clock: planTurn stamps created_at / thinking_changes[].at with `new Date()`. */
const NOW = '2026-06-15T12:00:00.000Z';
const EARLIER = '2026-06-15T11:00:00.000Z';
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date(NOW));
});
afterEach(() => {
  vi.useRealTimers();
});

const env = (vars: Record<string, string> = {}) => vars as unknown as Env;
const CONFIG = settings(env());

const KEY: KeyRecord = {
  id: 'key_planner',
  name: 'planner',
  kind: 'secret',
  allowed_origins: [],
  limits: {},
  prefix: 'sk_planner',
  created_at: '2026-01-01T00:00:00.000Z',
};

/** A tool as both the stored conversation (SDK `Tool`) and the request body (loose object) type it. */
type AnyTool = Tool & Record<string, unknown>;
const tool = (name: string, description = `the ${name} tool`): AnyTool => ({
  name,
  description,
  input_schema: { type: 'object', properties: { q: { type: 'string' } }, required: ['q'] },
});
const LOOKUP = tool('lookup');
const SEARCH = tool('search');

const userHi: MessageParam = { role: 'user', content: 'hi' };
const assistantText: MessageParam = {
  role: 'assistant',
  content: [
    { type: 'thinking', thinking: '', signature: 'sig-1' },
    { type: 'text', text: 'hello' },
  ],
};
/** An assistant turn that called tools with these ids and waits for their results. */
const assistantCalling = (ids: string[]): MessageParam => ({
  role: 'assistant',
  content: [
    { type: 'thinking', thinking: '', signature: 'sig-2' },
    { type: 'text', text: 'let me look' },
    ...ids.map((id): ContentBlockParam => ({
      type: 'tool_use',
      id,
      name: 'lookup',
      input: { q: id },
    })),
  ],
});

/** A conversation after one finished turn: system and tools set, no pending calls. */
const stored = (over: Partial<Conversation> = {}): Conversation => ({
  id: 'c_existing',
  key_id: KEY.id,
  model: 'claude-sonnet-5',
  system: 'You are terse.',
  tools: [LOOKUP, SEARCH],
  created_at: EARLIER,
  updated_at: EARLIER,
  turns: 1,
  messages: [userHi, assistantText],
  ...over,
});
/** The same conversation, waiting for the results of these tool calls. */
const waiting = (ids: string[], over: Partial<Conversation> = {}): Conversation =>
  stored({ turns: 2, messages: [userHi, assistantText, userHi, assistantCalling(ids)], ...over });

const results = (...ids: string[]): ChatRequest['tool_results'] =>
  ids.map((id) => ({ tool_use_id: id, content: `result for ${id}` }));

const plan = (
  body: ChatRequest,
  conversation: Conversation | null = null,
  { key = KEY, vars }: { key?: KeyRecord; vars?: Record<string, string> } = {},
) =>
  planTurn(
    vars ? settings(env(vars)) : CONFIG,
    { body, key, conversationId: body.conversation_id ?? 'c_new' },
    conversation,
  );

const refusal = (fn: () => unknown): ApiError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected planTurn to refuse the turn');
};

interface RefusalRow {
  name: string;
  /** A fragment the message must contain: the rule in the client's words. */
  why: string;
  body: ChatRequest;
  stored: Conversation | null;
}

describe('planTurn refuses a turn that cannot be taken', () => {
  it('answers an unknown conversation_id with a 404 not_found_error that names it', () => {
    const err = refusal(() => plan({ conversation_id: 'c_gone', message: 'hello?' }, null));
    expect(err.status).toBe(404);
    expect(err.type).toBe('not_found_error');
    expect(err.message).toContain('conversation_id: "c_gone" was not found');
    expect(err.message).toContain('omit conversation_id to start a new conversation');
  });

  const rows: RefusalRow[] = [
    {
      name: 'tool_results on a new conversation',
      why: 'tool_results answer the tool calls of an existing conversation',
      body: { tool_results: results('toolu_1') },
      stored: null,
    },
    {
      name: 'a different system string on a continuing conversation',
      why: 'system: a conversation keeps the system prompt it started with',
      body: { conversation_id: 'c_existing', message: 'next', system: 'You are verbose.' },
      stored: stored(),
    },
    {
      name: 'the same system text sent as blocks instead of a string',
      why: 'system: a conversation keeps the system prompt',
      body: {
        conversation_id: 'c_existing',
        message: 'next',
        system: [{ type: 'text', text: 'You are terse.' }],
      },
      stored: stored(),
    },
    {
      name: 'a system prompt added to a conversation that started without one',
      why: 'system: a conversation keeps the system prompt',
      body: { conversation_id: 'c_existing', message: 'next', system: 'Now be terse.' },
      stored: stored({ system: undefined }),
    },
    {
      name: 'a tool with a changed description on a continuing conversation',
      why: 'tools: a conversation keeps the tools it started with',
      body: {
        conversation_id: 'c_existing',
        message: 'next',
        tools: [tool('lookup', 'look things up, better'), SEARCH],
      },
      stored: stored(),
    },
    {
      name: 'a tool dropped from a continuing conversation',
      why: 'tools: a conversation keeps the tools it started with',
      body: { conversation_id: 'c_existing', message: 'next', tools: [LOOKUP] },
      stored: stored(),
    },
    {
      name: 'the same tools in another order (order is part of the prompt)',
      why: 'tools: a conversation keeps the tools',
      body: { conversation_id: 'c_existing', message: 'next', tools: [SEARCH, LOOKUP] },
      stored: stored(),
    },
    {
      name: 'tools added to a conversation that started without any',
      why: 'tools: a conversation keeps the tools',
      body: { conversation_id: 'c_existing', message: 'next', tools: [LOOKUP] },
      stored: stored({ tools: undefined }),
    },
    {
      name: 'a thinking change sent with tool_results',
      why: 'thinking: the thinking configuration cannot change inside a tool loop',
      body: {
        conversation_id: 'c_existing',
        tool_results: results('toolu_1'),
        thinking: { effort: 'high' },
      },
      stored: waiting(['toolu_1'], { thinking: { effort: 'low' } }),
    },
    {
      name: 'a first thinking setting sent with tool_results (none was set before)',
      why: 'cannot change inside a tool loop',
      body: {
        conversation_id: 'c_existing',
        tool_results: results('toolu_1'),
        thinking: { type: 'disabled' },
      },
      stored: waiting(['toolu_1']),
    },
    {
      name: 'a new message while tool calls are pending',
      why: 'waiting for the results of tool calls "toolu_1", "toolu_2": send them as "tool_results" before a new message',
      body: { conversation_id: 'c_existing', message: 'never mind' },
      stored: waiting(['toolu_1', 'toolu_2']),
    },
    {
      name: 'tool_results when no tool call is pending',
      why: 'tool_results: the conversation has no pending tool calls. Send "message" instead.',
      body: { conversation_id: 'c_existing', tool_results: results('toolu_1') },
      stored: stored(),
    },
    {
      name: 'a result sent twice for one call',
      why: 'tool_results: "toolu_1" answered more than once.',
      body: {
        conversation_id: 'c_existing',
        tool_results: results('toolu_1', 'toolu_2', 'toolu_1'),
      },
      stored: waiting(['toolu_1', 'toolu_2']),
    },
    {
      name: 'a result for a call that is not pending',
      why: 'tool_results: "toolu_x" is not a pending tool call. Pending: "toolu_1".',
      body: { conversation_id: 'c_existing', tool_results: results('toolu_1', 'toolu_x') },
      stored: waiting(['toolu_1']),
    },
    {
      name: 'results for several calls that are not pending (plural)',
      why: 'tool_results: "toolu_x", "toolu_y" are not pending tool calls. Pending: "toolu_1", "toolu_2".',
      body: { conversation_id: 'c_existing', tool_results: results('toolu_x', 'toolu_y') },
      stored: waiting(['toolu_1', 'toolu_2']),
    },
    {
      name: 'a duplicate before an unknown id (duplicates are reported first)',
      why: 'tool_results: "toolu_1" answered more than once.',
      body: {
        conversation_id: 'c_existing',
        tool_results: results('toolu_x', 'toolu_1', 'toolu_1'),
      },
      stored: waiting(['toolu_1']),
    },
    {
      name: 'results that leave a pending call unanswered',
      why: 'tool_results: every pending tool call needs a result; missing "toolu_2", "toolu_3".',
      body: { conversation_id: 'c_existing', tool_results: results('toolu_1') },
      stored: waiting(['toolu_1', 'toolu_2', 'toolu_3']),
    },
    {
      name: 'a forced tool_choice "any" on a new conversation without tools',
      why: 'tool_choice: it forces a tool, but the conversation has no tools',
      body: { message: 'go', tool_choice: { type: 'any' } },
      stored: null,
    },
    {
      name: 'a forced tool_choice "tool" on a continuing conversation without tools',
      why: 'tool_choice: it forces a tool, but the conversation has no tools',
      body: {
        conversation_id: 'c_existing',
        message: 'go',
        tool_choice: { type: 'tool', name: 'lookup' },
      },
      stored: stored({ tools: undefined }),
    },
    {
      name: 'a forced tool_choice naming a tool the new conversation does not have',
      why: 'tool_choice.name: "fetch" is not one of the conversation\'s tools (lookup, search)',
      body: {
        message: 'go',
        tools: [LOOKUP, SEARCH],
        tool_choice: { type: 'tool', name: 'fetch' },
      },
      stored: null,
    },
    {
      name: 'a forced tool_choice naming a tool the stored conversation does not have',
      why: 'tool_choice.name: "fetch" is not one of the conversation\'s tools (lookup, search)',
      body: {
        conversation_id: 'c_existing',
        message: 'go',
        tool_choice: { type: 'tool', name: 'fetch' },
      },
      stored: stored(),
    },
  ];

  it.each(rows)(
    'refuses $name with a 400 that says "$why"',
    ({ body, stored: conversation, why }) => {
      const err = refusal(() => plan(body, conversation));
      expect(err.status).toBe(400);
      expect(err.type).toBe('invalid_request_error');
      expect(err.message).toContain(why);
    },
  );
});

describe('planTurn lets an unchanged system and tools through, whatever their key order', () => {
  const reordered = (t: AnyTool): AnyTool =>
    JSON.parse(
      `{"input_schema":{"required":["q"],"properties":{"q":{"type":"string"}},"type":"object"},"description":${JSON.stringify(t.description)},"name":${JSON.stringify(t.name)}}`,
    ) as AnyTool;
  const blocks: TextBlockParam[] = [
    { type: 'text', text: 'You are terse.' },
    { type: 'text', text: 'Answer in English.' },
  ];

  it.each<{ name: string; body: ChatRequest; stored: Conversation }>([
    {
      name: 'system and tools omitted',
      body: { conversation_id: 'c_existing', message: 'next' },
      stored: stored(),
    },
    {
      name: 'the same system string and the same tools',
      body: {
        conversation_id: 'c_existing',
        message: 'next',
        system: 'You are terse.',
        tools: [LOOKUP, SEARCH],
      },
      stored: stored(),
    },
    {
      name: 'the same tools re-serialised with other key order (nested too)',
      body: {
        conversation_id: 'c_existing',
        message: 'next',
        tools: [reordered(LOOKUP), reordered(SEARCH)],
      },
      stored: stored(),
    },
    {
      name: 'the same system blocks re-serialised with other key order',
      body: {
        conversation_id: 'c_existing',
        message: 'next',
        system: blocks.map((b) => JSON.parse(`{"text":${JSON.stringify(b.text)},"type":"text"}`)),
      },
      stored: stored({ system: blocks }),
    },
  ])('accepts $name, keeping the stored ones upstream', ({ body, stored: conversation }) => {
    const turn = plan(body, conversation);
    expect(turn.conversation.system).toEqual(conversation.system);
    expect(turn.conversation.tools).toEqual(conversation.tools);
    // Upstream: the stored tools, the last one marked as the fixed cache breakpoint only
    // when there is no system; the system text unchanged.
    const sent = turn.params.system;
    const texts =
      typeof sent === 'string' ? [sent] : (sent ?? []).map((b: TextBlockParam) => b.text);
    const storedTexts =
      typeof conversation.system === 'string'
        ? [conversation.system]
        : (conversation.system ?? []).map((b) => b.text);
    expect(texts).toEqual(storedTexts);
    expect(turn.params.tools?.map((t) => (t as Tool).name)).toEqual(
      conversation.tools?.map((t) => t.name),
    );
  });
});

describe('planTurn: a thinking change', () => {
  it.each<{
    name: string;
    before: Conversation['thinking'];
    earlier?: Conversation['thinking_changes'];
    sent: ChatRequest['thinking'];
    kept: Conversation['thinking'];
  }>([
    {
      name: 'from an effort to another effort',
      before: { effort: 'low' },
      sent: { effort: 'high' },
      kept: { effort: 'high' },
    },
    {
      name: 'from the model default to disabled',
      before: undefined,
      sent: { type: 'disabled' },
      kept: { type: 'disabled' },
    },
    {
      name: 'from an effort to the Messages API adaptive shape (display dropped)',
      before: { effort: 'max' },
      sent: { type: 'adaptive', display: 'summarized' },
      kept: { type: 'adaptive' },
    },
    {
      name: 'after an earlier change (appended, the earlier one kept)',
      before: { effort: 'low' },
      earlier: [{ turn: 1, thinking: { effort: 'low' }, at: EARLIER }],
      sent: { effort: 'medium' },
      kept: { effort: 'medium' },
    },
  ])('on a new user message is honoured and recorded: $name', ({ before, earlier, sent, kept }) => {
    const conversation = stored({
      turns: 3,
      thinking: before,
      ...(earlier ? { thinking_changes: earlier } : {}),
    });
    const turn = plan(
      { conversation_id: 'c_existing', message: 'think harder', thinking: sent },
      conversation,
    );
    expect(turn.conversation.thinking).toEqual(kept);
    expect(turn.conversation.thinking_changes).toEqual([
      ...(earlier ?? []),
      { turn: 4, thinking: kept, at: NOW },
    ]);
    // The planner is pure: the stored conversation is not the one it changed.
    expect(conversation.thinking).toEqual(before);
    expect(conversation.thinking_changes).toEqual(earlier);
  });

  it.each<{
    name: string;
    before: Conversation['thinking'];
    sent: ChatRequest['thinking'];
    toolLoop: boolean;
  }>([
    {
      name: 'the same effort on a new message',
      before: { effort: 'low' },
      sent: { effort: 'low' },
      toolLoop: false,
    },
    {
      name: 'the same effort with tool_results',
      before: { effort: 'low' },
      sent: { effort: 'low' },
      toolLoop: true,
    },
    {
      name: 'the same budget in the Messages API vocabulary, with tool_results',
      before: { budget_tokens: 4096 },
      sent: { type: 'enabled', budget_tokens: 4096, display: 'summarized' },
      toolLoop: true,
    },
    {
      name: 'no thinking field at all, with tool_results',
      before: { effort: 'high' },
      sent: undefined,
      toolLoop: true,
    },
  ])('is no change for $name: nothing recorded, no 400', ({ before, sent, toolLoop }) => {
    const conversation = toolLoop
      ? waiting(['toolu_1'], { model: 'claude-sonnet-4-6', thinking: before })
      : stored({ model: 'claude-sonnet-4-6', thinking: before });
    const body: ChatRequest = toolLoop
      ? {
          conversation_id: 'c_existing',
          tool_results: results('toolu_1'),
          ...(sent ? { thinking: sent } : {}),
        }
      : { conversation_id: 'c_existing', message: 'again', ...(sent ? { thinking: sent } : {}) };
    const turn = plan(body, conversation);
    expect(turn.conversation.thinking).toEqual(before);
    expect(turn.conversation.thinking_changes).toBeUndefined();
  });
});

describe('planTurn keeps its refusals short however many ids are involved', () => {
  const ids = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => `${prefix}_${i + 1}`);
  const quoted = (list: string[]) => list.map((id) => `"${id}"`).join(', ');

  it.each<{ name: string; body: ChatRequest; stored: Conversation; why: string }>([
    {
      name: '7 pending calls when a message arrives: 5 named and 2 more',
      body: { conversation_id: 'c_existing', message: 'hello' },
      stored: waiting(ids('toolu', 7)),
      why: `tool calls ${quoted(ids('toolu', 5))} and 2 more: send them`,
    },
    {
      name: 'exactly 5 pending calls: all named, no "more"',
      body: { conversation_id: 'c_existing', message: 'hello' },
      stored: waiting(ids('toolu', 5)),
      why: `tool calls ${quoted(ids('toolu', 5))}: send them`,
    },
    {
      name: '6 duplicated results: 5 named and 1 more',
      body: {
        conversation_id: 'c_existing',
        tool_results: results(...ids('toolu', 6), ...ids('toolu', 6)),
      },
      stored: waiting(ids('toolu', 6)),
      why: `tool_results: ${quoted(ids('toolu', 5))} and 1 more answered more than once.`,
    },
    {
      name: '9 unknown results against 8 pending: both lists cut at 5',
      body: { conversation_id: 'c_existing', tool_results: results(...ids('bogus', 9)) },
      stored: waiting(ids('toolu', 8)),
      why: `tool_results: ${quoted(ids('bogus', 5))} and 4 more are not pending tool calls. Pending: ${quoted(ids('toolu', 5))} and 3 more.`,
    },
    {
      name: '12 missing results: 5 named and 7 more',
      body: { conversation_id: 'c_existing', tool_results: results('toolu_1') },
      stored: waiting(ids('toolu', 13)),
      why: `missing ${quoted(ids('toolu', 13).slice(1, 6))} and 7 more.`,
    },
  ])('$name', ({ body, stored: conversation, why }) => {
    const err = refusal(() => plan(body, conversation));
    expect(err.status).toBe(400);
    expect(err.message).toContain(why);
  });

  const idOf = (length: number) => `toolu_${'x'.repeat(length - 6)}`;
  it.each([
    { name: 'a 64-character id in full', id: idOf(64), shown: `"${idOf(64)}"` },
    { name: 'a 65-character id cut to 64 and an ellipsis', id: idOf(65), shown: `"${idOf(64)}…"` },
    {
      name: 'a 200-character id cut to 64 and an ellipsis',
      id: idOf(200),
      shown: `"${idOf(64)}…"`,
    },
  ])('quotes $name', ({ id, shown }) => {
    const err = refusal(() =>
      plan({ conversation_id: 'c_existing', tool_results: results(id) }, waiting(['toolu_1'])),
    );
    expect(err.message).toContain(`${shown} is not a pending tool call`);
  });

  it('stays bounded with the most results the schema lets through (512 unknown ids)', () => {
    const err = refusal(() =>
      plan(
        { conversation_id: 'c_existing', tool_results: results(...ids('bogus', 512)) },
        waiting(ids('toolu', 100)),
      ),
    );
    expect(err.message.match(/"bogus_/g)).toHaveLength(5);
    expect(err.message.match(/"toolu_/g)).toHaveLength(5);
    expect(err.message).toContain('and 507 more');
    expect(err.message).toContain('and 95 more');
    expect(err.message.length).toBeLessThan(400);
  });
});

describe('planTurn answers the pending tool calls', () => {
  it.each([
    { name: 'in the order the calls were made', order: ['toolu_1', 'toolu_2', 'toolu_3'] },
    { name: 'in another order (kept as sent)', order: ['toolu_3', 'toolu_1', 'toolu_2'] },
  ])('takes one result per pending call $name', ({ order }) => {
    const turn = plan(
      {
        conversation_id: 'c_existing',
        tool_results: order.map((id, i) => ({
          tool_use_id: id,
          content: [{ type: 'text' as const, text: `r${i}` }],
          ...(id === 'toolu_2' ? { is_error: true } : {}),
        })),
      },
      waiting(['toolu_1', 'toolu_2', 'toolu_3']),
    );
    expect(turn.userMessage).toEqual({
      role: 'user',
      content: order.map((id, i) => ({
        type: 'tool_result',
        tool_use_id: id,
        content: [{ type: 'text', text: `r${i}` }],
        ...(id === 'toolu_2' ? { is_error: true } : {}),
      })),
    });
  });

  it.each<{
    name: string;
    tool_choice: ChatRequest['tool_choice'];
    stored: Conversation | null;
    tools?: AnyTool[];
  }>([
    {
      name: 'auto on a new conversation without tools',
      tool_choice: { type: 'auto' },
      stored: null,
    },
    {
      name: 'none on a new conversation without tools',
      tool_choice: { type: 'none' },
      stored: null,
    },
    {
      name: 'any on a new conversation with tools',
      tool_choice: { type: 'any' },
      stored: null,
      tools: [LOOKUP],
    },
    {
      name: 'a tool the new conversation declares',
      tool_choice: { type: 'tool', name: 'search' },
      stored: null,
      tools: [LOOKUP, SEARCH],
    },
    {
      name: 'a tool the stored conversation has, without resending tools',
      tool_choice: { type: 'tool', name: 'lookup' },
      stored: stored(),
    },
  ])(
    'passes tool_choice $name through to Claude',
    ({ tool_choice, stored: conversation, tools }) => {
      const turn = plan(
        {
          ...(conversation ? { conversation_id: conversation.id } : {}),
          message: 'go',
          tool_choice,
          ...(tools ? { tools } : {}),
        },
        conversation,
      );
      expect(turn.params.tool_choice).toEqual(tool_choice);
    },
  );
});

describe('planTurn: the upstream request', () => {
  it('starts a conversation with what the first message sets', () => {
    const turn = plan({
      message: 'hello',
      model: 'claude-opus-4-8',
      system: 'You are terse.',
      tools: [LOOKUP],
      thinking: { effort: 'high' },
      max_tokens: 8000,
    });
    expect(turn.conversation).toEqual({
      id: 'c_new',
      key_id: KEY.id,
      model: 'claude-opus-4-8',
      system: 'You are terse.',
      tools: [LOOKUP],
      thinking: { effort: 'high' },
      created_at: NOW,
      updated_at: NOW,
      turns: 0,
      messages: [],
    });
    expect(turn.userMessage).toEqual({ role: 'user', content: 'hello' });
    expect(turn.params).toEqual({
      model: 'claude-opus-4-8',
      max_tokens: 8000,
      thinking: { type: 'adaptive', display: 'omitted' },
      output_config: { effort: 'high' },
      system: [
        { type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral', ttl: '1h' } },
      ],
      tools: [LOOKUP],
      cache_control: { type: 'ephemeral', ttl: '1h' },
      context_management: {
        edits: [{ type: 'compact_20260112', trigger: { type: 'input_tokens', value: 150_000 } }],
      },
    });
    expect(turn.betas).toEqual(['compact-2026-01-12']);
    expect(turn.ttlSeconds).toBe(CONFIG.conversationTtlSeconds);
    expect(turn.idleTimeoutMs).toBe(CONFIG.upstreamIdleTimeoutMs);
  });

  it.each<{
    name: string;
    body: ChatRequest;
    conversation: Conversation | null;
    vars?: Record<string, string>;
    model: string;
    max_tokens: number;
  }>([
    {
      name: 'the operator default model and max_tokens when the first message names neither',
      body: { message: 'hi' },
      conversation: null,
      model: 'claude-sonnet-5',
      max_tokens: 16_000,
    },
    {
      name: 'the operator vars for both',
      body: { message: 'hi' },
      conversation: null,
      vars: { DEFAULT_MODEL: 'claude-haiku-5-5', DEFAULT_MAX_TOKENS: '4000' },
      model: 'claude-haiku-5-5',
      max_tokens: 4000,
    },
    {
      name: 'the stored model on a continuing turn, not the operator default',
      body: { conversation_id: 'c_existing', message: 'more' },
      conversation: stored({ model: 'claude-opus-4-7' }),
      model: 'claude-opus-4-7',
      max_tokens: 16_000,
    },
    {
      name: 'a default max_tokens capped at the model output limit',
      body: { message: 'hi', model: 'claude-haiku-4-5' },
      conversation: null,
      vars: { DEFAULT_MAX_TOKENS: '100000' },
      model: 'claude-haiku-4-5',
      max_tokens: 64_000,
    },
  ])('uses $name', ({ body, conversation, vars, model, max_tokens }) => {
    const turn = plan(body, conversation, { vars });
    expect(turn.params.model).toBe(model);
    expect(turn.params.max_tokens).toBe(max_tokens);
  });

  it.each<{
    name: string;
    model: string;
    thinking: ChatRequest['thinking'];
    max_tokens?: number;
    want: unknown;
  }>([
    {
      name: 'no thinking field on an adaptive model',
      model: 'claude-sonnet-5',
      thinking: undefined,
      want: { type: 'adaptive', display: 'omitted' },
    },
    {
      name: 'adaptive asked with display summarized',
      model: 'claude-opus-4-8',
      thinking: { type: 'adaptive', display: 'summarized' },
      want: { type: 'adaptive', display: 'omitted' },
    },
    {
      name: 'a manual budget asked with display summarized',
      model: 'claude-sonnet-4-5',
      thinking: { type: 'enabled', budget_tokens: 2048, display: 'summarized' },
      max_tokens: 8000,
      want: { type: 'enabled', budget_tokens: 2048, display: 'omitted' },
    },
  ])(
    'always asks for thinking with display omitted: $name',
    ({ model, thinking, max_tokens, want }) => {
      const turn = plan({
        message: 'hi',
        model,
        ...(thinking ? { thinking } : {}),
        ...(max_tokens ? { max_tokens } : {}),
      });
      expect(turn.params.thinking).toEqual(want);
    },
  );

  it('carries the stored system and tools on a continuing turn, with the breakpoints on the system', () => {
    const turn = plan({ conversation_id: 'c_existing', message: 'more' }, stored());
    expect(turn.conversation).toEqual(stored());
    expect(turn.params.system).toEqual([
      { type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral', ttl: '1h' } },
    ]);
    expect(turn.params.tools).toEqual([LOOKUP, SEARCH]);
    expect(turn.params.cache_control).toEqual({ type: 'ephemeral', ttl: '1h' });
  });

  it.each<{
    name: string;
    key?: KeyRecord;
    vars?: Record<string, string>;
    ttl: '5m' | '1h' | null;
  }>([
    { name: 'the operator default 1h', ttl: '1h' },
    { name: 'the operator 5m', vars: { PROMPT_CACHE_TTL: '5m' }, ttl: '5m' },
    { name: 'the key 5m over the operator 1h', key: { ...KEY, prompt_cache_ttl: '5m' }, ttl: '5m' },
    {
      name: 'the key 1h over the operator off',
      key: { ...KEY, prompt_cache_ttl: '1h' },
      vars: { PROMPT_CACHE_TTL: 'off' },
      ttl: '1h',
    },
    {
      name: 'none when the key turns caching off',
      key: { ...KEY, prompt_cache_ttl: 'off' },
      ttl: null,
    },
    {
      name: 'none when the operator turns caching off',
      vars: { PROMPT_CACHE_TTL: 'off' },
      ttl: null,
    },
  ])('marks cache breakpoints with $name', ({ key, vars, ttl }) => {
    const turn = plan({ message: 'hi', tools: [LOOKUP, SEARCH] }, null, { key, vars });
    const marker = ttl ? { type: 'ephemeral', ttl } : undefined;
    expect(turn.params.cache_control).toEqual(marker);
    // No system: the fixed breakpoint is on the last tool.
    expect((turn.params.tools?.[1] as Tool).cache_control).toEqual(marker);
    expect((turn.params.tools?.[0] as Tool).cache_control).toBeUndefined();
    // The stored conversation never carries the markers.
    expect(turn.conversation.tools).toEqual([LOOKUP, SEARCH]);
  });

  it.each<{
    name: string;
    key: KeyRecord;
    body: ChatRequest;
    speed?: string;
    service_tier?: string;
    betas: string[];
  }>([
    {
      name: 'nothing by default',
      key: KEY,
      body: { message: 'hi' },
      betas: ['compact-2026-01-12'],
    },
    {
      name: 'the key fast speed with the preview beta on claude-opus-4-8',
      key: { ...KEY, latency: { speed: 'fast' } },
      body: { message: 'hi', model: 'claude-opus-4-8' },
      speed: 'fast',
      betas: ['fast-mode-2026-02-01', 'compact-2026-01-12'],
    },
    {
      name: 'a requested service_tier the key allows',
      key: { ...KEY, latency: { client_may_choose: true } },
      body: { message: 'hi', service_tier: 'standard_only' },
      service_tier: 'standard_only',
      betas: ['compact-2026-01-12'],
    },
  ])('sends latency levers: $name', ({ key, body, speed, service_tier, betas }) => {
    const turn = plan(body, null, { key });
    expect(turn.params.speed).toBe(speed);
    expect(turn.params.service_tier).toBe(service_tier);
    expect(turn.betas).toEqual(betas);
  });
});

describe('planTurn: compaction', () => {
  it('asks for compaction at COMPACT_AT_INPUT_TOKENS, never below the API minimum of 50000', () => {
    const at = (vars: Record<string, string>) =>
      planTurn(
        settings(env(vars)),
        { body: { message: 'hi' }, key: KEY, conversationId: 'c_new' },
        null,
      ).params.context_management;
    expect(at({ COMPACT_AT_INPUT_TOKENS: '80000' })).toEqual({
      edits: [{ type: 'compact_20260112', trigger: { type: 'input_tokens', value: 80_000 } }],
    });
    expect(at({ COMPACT_AT_INPUT_TOKENS: '1000' })?.edits?.[0]).toMatchObject({
      trigger: { value: 50_000 },
    });
    expect(at({})?.edits?.[0]).toMatchObject({ trigger: { value: 150_000 } });
  });

  it('does not ask where the model cannot compact (the 4.5 models)', () => {
    const turn = plan({
      message: 'hi',
      model: 'claude-sonnet-4-5',
      thinking: { budget_tokens: 2048 },
    });
    expect(turn.params.context_management).toBeUndefined();
    expect(turn.betas).not.toContain('compact-2026-01-12');
  });
});
