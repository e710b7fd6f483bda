/**
 * The `thinking` vocabulary of `/v1/chat` (API.md §3): ours, and the Messages API's own
 * shapes, mapped onto the one form a conversation keeps. What each model takes is decided
 * in anthropic/thinking.ts.
 */
import type { OutputConfig } from '@anthropic-ai/sdk/resources/messages';

export type Effort = NonNullable<OutputConfig['effort']>;

/**
 * The form a conversation keeps (API.md §3): one of these, or nothing for the model's
 * default. `adaptive` is the Messages API's own `{"type":"adaptive"}`: adaptive thinking at
 * the model's default effort.
 */
export type ThinkingRequest =
  { effort: Effort } | { budget_tokens: number } | { type: 'disabled' } | { type: 'adaptive' };

/** What a client may send: ours, or the Messages API's shapes with any `display`. */
export type ClientThinking =
  | ThinkingRequest
  | { type: 'enabled'; budget_tokens: number; display?: string }
  | { type: 'adaptive'; display?: string };

/**
 * One form for both vocabularies, so a conversation started with `{"type":"enabled",
 * "budget_tokens":N}` and continued with `{"budget_tokens":N}` has not changed its thinking.
 */
export function thinkingRequest(client: ClientThinking): ThinkingRequest {
  if ('type' in client && client.type === 'enabled') return { budget_tokens: client.budget_tokens };
  if ('type' in client && client.type === 'adaptive') return { type: 'adaptive' };
  return client as ThinkingRequest;
}
