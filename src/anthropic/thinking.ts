/**
 * Turns a client's `thinking` / `max_tokens` / `tool_choice` into what the model takes:
 * adaptive + `output_config.effort` where supported, a manual budget only where accepted,
 * always `display: "omitted"` (no thinking text on the wire: the first text token comes
 * sooner, and the signature still carries the whole reasoning). Anything the model would
 * reject becomes a 400 here, before any upstream call.
 */
import type {
  OutputConfig,
  ThinkingConfigParam,
  ToolChoice,
} from '@anthropic-ai/sdk/resources/messages';
import type { Effort, ThinkingRequest } from '../contract/thinking';
import { invalid } from '../errors';
import type { ModelSpec } from './models';

export interface ThinkingPlan {
  thinking: ThinkingConfigParam;
  output_config?: OutputConfig;
  max_tokens: number;
}

/** Manual budgets that stand in for an effort level on models without adaptive thinking. */
const BUDGET_FOR_EFFORT: Record<Effort, number> = {
  low: 2_048,
  medium: 8_192,
  high: 16_384,
  xhigh: 32_000,
  max: 63_999,
};
const MIN_BUDGET = 1_024;

export function planThinking(
  model: ModelSpec,
  requested: ThinkingRequest | undefined,
  maxTokens: number | undefined,
  defaultMaxTokens: number,
  toolChoice: ToolChoice | undefined,
): ThinkingPlan {
  if (maxTokens !== undefined && maxTokens > model.maxOutputTokens) {
    throw invalid(
      `max_tokens: ${maxTokens} is above ${model.id}'s output limit of ${model.maxOutputTokens}. Send a smaller max_tokens.`,
    );
  }
  const max_tokens = maxTokens ?? Math.min(defaultMaxTokens, model.maxOutputTokens);
  const plan = thinkingFor(model, requested, max_tokens);
  checkToolChoice(model, plan, toolChoice);
  return plan;
}

function thinkingFor(
  model: ModelSpec,
  requested: ThinkingRequest | undefined,
  max_tokens: number,
): ThinkingPlan {
  if (requested && 'type' in requested && requested.type === 'adaptive') {
    if (!model.adaptive) {
      throw invalid(
        `thinking: ${model.id} does not take adaptive thinking. Send {"budget_tokens":N} (or {"type":"enabled","budget_tokens":N}), or an {"effort":…} that the edge turns into a budget.`,
      );
    }
    return { thinking: { type: 'adaptive', display: 'omitted' }, max_tokens };
  }
  if (requested && 'type' in requested) {
    if (model.off === 'never') {
      throw invalid(
        `thinking: ${model.id} always thinks and cannot turn thinking off. Send {"effort":"low"} for the least thinking, or pick another model.`,
      );
    }
    return { thinking: { type: model.off }, max_tokens };
  }
  if (requested && 'budget_tokens' in requested) {
    if (!model.manualBudget) {
      throw invalid(
        `thinking.budget_tokens: ${model.id} does not take a manual thinking budget. Send {"effort":"low"|"medium"|"high"|"xhigh"|"max"} instead.`,
      );
    }
    return manual(requested.budget_tokens, max_tokens, 'thinking.budget_tokens');
  }
  const effort = requested?.effort;
  if (model.adaptive) {
    return {
      thinking: { type: 'adaptive', display: 'omitted' },
      ...(effort ? { output_config: { effort } } : {}),
      max_tokens,
    };
  }
  // Manual-only models: an effort (or none: medium) becomes a budget that fits max_tokens.
  const budget = Math.min(BUDGET_FOR_EFFORT[effort ?? 'medium'], max_tokens - 1);
  if (budget < MIN_BUDGET) {
    if (!effort) return { thinking: { type: 'disabled' }, max_tokens };
    throw invalid(
      `max_tokens: ${model.id} thinks with a manual budget of at least ${MIN_BUDGET} tokens, which must be below max_tokens. Send max_tokens above ${MIN_BUDGET}.`,
    );
  }
  return manual(budget, max_tokens, 'thinking.effort');
}

function manual(budget: number, max_tokens: number, field: string): ThinkingPlan {
  if (budget < MIN_BUDGET) {
    throw invalid(
      `${field}: the thinking budget must be at least ${MIN_BUDGET} tokens (got ${budget}).`,
    );
  }
  if (budget >= max_tokens) {
    throw invalid(
      `${field}: the thinking budget (${budget}) must be less than max_tokens (${max_tokens}). Raise max_tokens or lower the budget.`,
    );
  }
  return { thinking: { type: 'enabled', budget_tokens: budget, display: 'omitted' }, max_tokens };
}

function checkToolChoice(model: ModelSpec, plan: ThinkingPlan, toolChoice: ToolChoice | undefined) {
  if (toolChoice?.type !== 'any' && toolChoice?.type !== 'tool') return;
  if (!model.forcedToolChoice) {
    throw invalid(
      `tool_choice: ${model.id} does not accept a forced tool_choice ("any" or "tool"). Use {"type":"auto"} and say in the message which tool to use.`,
    );
  }
  if (plan.thinking.type === 'enabled') {
    throw invalid(
      `tool_choice: a forced tool_choice ("any" or "tool") cannot be combined with a manual thinking budget. Use {"type":"auto"}, or send {"type":"disabled"} thinking.`,
    );
  }
}
