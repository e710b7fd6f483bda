/**
 * A turn's request as `POST /v1/messages/count_tokens` takes it: the prompt's fields only.
 * The count endpoint refuses the generation settings (`max_tokens`, `stream`, `metadata`,
 * `service_tier`); `speed` is dropped too, since it needs a beta header and does not change
 * what the prompt holds. The cache markers stay: they are accepted and cost nothing.
 */
import type {
  MessageCountTokensParams,
  MessageCountTokensTool,
  MessageCreateParams,
  MessageParam,
} from '@anthropic-ai/sdk/resources/messages';

export function countTokensParams(
  params: Omit<MessageCreateParams, 'messages'>,
  messages: MessageParam[],
): MessageCountTokensParams {
  const { model, system, tools, tool_choice, thinking, output_config, cache_control } = params;
  return {
    model,
    ...(system !== undefined ? { system } : {}),
    ...(tools !== undefined ? { tools: tools as MessageCountTokensTool[] } : {}),
    ...(tool_choice !== undefined ? { tool_choice } : {}),
    ...(thinking !== undefined ? { thinking } : {}),
    ...(output_config !== undefined ? { output_config } : {}),
    ...(cache_control != null ? { cache_control } : {}),
    messages,
  };
}
