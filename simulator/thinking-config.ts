// Resolves and validates `thinking`, `output_config.effort` and forced `tool_choice` against the
// model table (reference §1.1–§1.4, §3.1, §3.3).

import { invalid } from './errors';
import {
  EFFORTS,
  MESSAGES,
  type Display,
  type Effort,
  type ModelSpec,
  type ThinkingType,
} from './models';

export interface ThinkingMode {
  /** The `thinking.type` sent, or null when the field was absent. */
  requested: ThinkingType | null;
  /** What applies: the requested type, the model's default, or 'off'. */
  type: ThinkingType | 'off';
  /** Thinks before answering (adaptive or enabled). */
  upFront: boolean;
  display: Display;
  budgetTokens?: number;
  effort: Effort;
  /** `thinking.block_binding.prefix_mismatch_behavior: "drop_block"`. */
  dropMismatchedBlocks: boolean;
}

const TYPES: readonly ThinkingType[] = ['enabled', 'disabled', 'adaptive', 'between_tools'];
const BINDING_BETA = 'thinking-binding-controls-2026-08-01';
const INTERLEAVED_BETA = 'interleaved-thinking-2025-05-14';

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function resolveEffort(outputConfig: unknown, model: ModelSpec): Effort {
  if (outputConfig === undefined || outputConfig === null) return model.defaultEffort;
  if (typeof outputConfig !== 'object') throw invalid('output_config: Input should be an object');
  const effort = (outputConfig as { effort?: unknown }).effort;
  if (effort === undefined || effort === null) return model.defaultEffort;
  if (!EFFORTS.includes(effort as Effort))
    throw invalid(
      "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'",
    );
  return effort as Effort;
}

function notAccepted(type: ThinkingType, model: ModelSpec): string {
  switch (type) {
    case 'enabled':
      return MESSAGES.enabled;
    case 'adaptive':
      return MESSAGES.adaptive;
    case 'disabled':
      return model.disabledMessage;
    case 'between_tools':
      return MESSAGES.betweenTools;
  }
}

export function resolveThinking(
  body: Record<string, unknown>,
  model: ModelSpec,
  betas: readonly string[],
): ThinkingMode {
  const effort = resolveEffort(body.output_config, model);
  const raw = body.thinking;
  if (raw === undefined || raw === null) {
    const on = model.defaultThinking === 'adaptive';
    return {
      requested: null,
      type: on ? 'adaptive' : 'off',
      upFront: on,
      display: model.defaultDisplay,
      effort,
      dropMismatchedBlocks: false,
    };
  }
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw invalid('thinking: Input should be a valid dictionary');
  const t = raw as Record<string, unknown>;
  const type = t.type as ThinkingType;
  if (!TYPES.includes(type))
    throw invalid(
      `thinking.type: Input tag '${String(t.type)}' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive', 'between_tools'`,
    );

  const hasDisplay = 'display' in t && t.display !== undefined;
  if (hasDisplay && (type === 'disabled' || type === 'between_tools'))
    throw invalid(`thinking.${type}.display: Extra inputs are not permitted`);
  if (hasDisplay && t.display !== null && t.display !== 'summarized' && t.display !== 'omitted')
    throw invalid(`thinking.${type}.display: Input should be 'summarized' or 'omitted'`);

  let dropMismatchedBlocks = false;
  if ('block_binding' in t && t.block_binding !== undefined) {
    if (!betas.includes(BINDING_BETA))
      throw invalid(`thinking.block_binding: Extra inputs are not permitted`);
    const behavior = (t.block_binding as { prefix_mismatch_behavior?: unknown } | null)
      ?.prefix_mismatch_behavior;
    if (behavior !== undefined && behavior !== 'error' && behavior !== 'drop_block')
      throw invalid(
        "thinking.block_binding.prefix_mismatch_behavior: Input should be 'error' or 'drop_block'",
      );
    dropMismatchedBlocks = behavior === 'drop_block';
  }

  let budgetTokens: number | undefined;
  if (type === 'enabled') {
    if (t.budget_tokens === undefined)
      throw invalid('thinking.enabled.budget_tokens: Field required');
    if (!isInt(t.budget_tokens))
      throw invalid('thinking.enabled.budget_tokens: Input should be a valid integer');
    if (t.budget_tokens < 1024)
      throw invalid(
        'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024',
      );
    budgetTokens = t.budget_tokens;
  }

  if (!model.accepts.includes(type)) throw invalid(notAccepted(type, model));
  if (
    (type === 'disabled' || type === 'between_tools') &&
    model.thinkingOffNeedsLowEffort &&
    (effort === 'xhigh' || effort === 'max')
  )
    throw invalid(MESSAGES.effortWithoutThinking(effort));

  const maxTokens = body.max_tokens as number;
  if (budgetTokens !== undefined && budgetTokens >= maxTokens && !betas.includes(INTERLEAVED_BETA))
    throw invalid(
      '`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size',
    );

  return {
    requested: type,
    type,
    upFront: type === 'adaptive' || type === 'enabled',
    display: (t.display as Display | null | undefined) ?? model.defaultDisplay,
    budgetTokens,
    effort,
    dropMismatchedBlocks,
  };
}

/** Forced tool use (`any` / `tool`) rules; returns whether tool use is forced. */
export function checkToolChoice(
  toolChoice: unknown,
  tools: readonly { name?: unknown }[] | undefined,
  model: ModelSpec,
  thinking: ThinkingMode,
): boolean {
  if (toolChoice === undefined || toolChoice === null) return false;
  if (typeof toolChoice !== 'object') throw invalid('tool_choice: Input should be an object');
  const tc = toolChoice as { type?: unknown; name?: unknown };
  if (!['auto', 'any', 'tool', 'none'].includes(String(tc.type)))
    throw invalid(
      `tool_choice.type: Input tag '${String(tc.type)}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'`,
    );
  const forced = tc.type === 'any' || tc.type === 'tool';
  if (!forced) return false;
  if (!tools || tools.length === 0)
    throw invalid('tool_choice may only be specified while providing tools.');
  if (tc.type === 'tool') {
    if (typeof tc.name !== 'string') throw invalid('tool_choice.tool.name: Field required');
    if (!tools.some((t) => t.name === tc.name))
      throw invalid(`tool_choice.name: Tool '${tc.name}' not found in \`tools\``);
  }
  if (model.rejectsForcedToolChoice) throw invalid(MESSAGES.forcedToolChoiceModel);
  if (thinking.type === 'enabled') throw invalid(MESSAGES.forcedToolChoiceThinking);
  return true;
}
