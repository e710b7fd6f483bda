// The simulator's own model table (reference §1.2, §3.1). Deliberately not shared with src/:
// the gateway must not be able to "agree with itself".

export type ThinkingType = 'adaptive' | 'enabled' | 'disabled' | 'between_tools';
export type Effort = 'low' | 'medium' | 'high' | 'xhigh' | 'max';
export type Display = 'summarized' | 'omitted';

export interface ModelSpec {
  id: string;
  /** Thinking types the model accepts. */
  accepts: readonly ThinkingType[];
  /** What happens when the request has no `thinking` field. */
  defaultThinking: 'adaptive' | 'off';
  /** `disabled` / `between_tools` are rejected at effort xhigh or max. */
  thinkingOffNeedsLowEffort: boolean;
  maxOutputTokens: number;
  /** `tool_choice` `any` / `tool` rejected on every request. */
  rejectsForcedToolChoice: boolean;
  defaultDisplay: Display;
  defaultEffort: Effort;
  /** Only the 4.5 generation still accepts a final assistant message (prefill). */
  allowsPrefill: boolean;
  /** 400 text for `thinking.type: "disabled"` when it is not accepted. */
  disabledMessage: string;
  /** Released up to Opus 4.6: the pre-2026 sampling rules apply under anthropic-version 2023-06-01. */
  legacySampling: boolean;
  /** Threshold compaction (`context_management` edit `compact_20260112`) is available. */
  compaction: boolean;
  /** Context window in tokens (input + output), unless the simulator's option overrides it. */
  contextWindow: number;
}

export const EFFORTS: readonly Effort[] = ['low', 'medium', 'high', 'xhigh', 'max'];

export const MESSAGES = {
  enabled:
    '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.',
  disabled:
    '"thinking.type.disabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.',
  disabledMythosPreview:
    '"thinking.type.disabled" is not supported for this model. Use "thinking.type.enabled" or "thinking.type.adaptive" to control thinking behavior.',
  disabledSonnet55:
    'To turn thinking off on this model, send "thinking": {"type": "between_tools"} instead of {"type": "disabled"}. The model does not think before responding. The short updates it writes between tool calls come back as thinking blocks.',
  betweenTools: '"thinking.type.between_tools" is not supported for this model.',
  adaptive: 'adaptive thinking is not supported on this model',
  effortWithoutThinking: (effort: string) =>
    `output_config.effort '${effort}' is not supported when thinking is disabled on this model. Use effort 'high' or below, or enable thinking.`,
  forcedToolChoiceModel: 'tool_choice: type "tool" and "any" are not supported for this model.',
  forcedToolChoiceThinking: 'Thinking may not be enabled when tool_choice forces tool use.',
} as const;

const base = {
  accepts: ['adaptive'],
  defaultThinking: 'adaptive',
  thinkingOffNeedsLowEffort: false,
  maxOutputTokens: 128_000,
  rejectsForcedToolChoice: false,
  defaultDisplay: 'omitted',
  defaultEffort: 'high',
  allowsPrefill: false,
  disabledMessage: MESSAGES.disabled,
  legacySampling: false,
} as const satisfies Omit<ModelSpec, 'id' | 'compaction' | 'contextWindow'>;

type Spec = Omit<ModelSpec, 'id' | 'compaction' | 'contextWindow'>;

/** Fable/Mythos 5.1 and 5.2: adaptive only, always on, forced tool_choice rejected. */
const fable51: Spec = { ...base, rejectsForcedToolChoice: true };
const fable5: Spec = { ...base };
const mythosPreview: Spec = {
  ...base,
  accepts: ['adaptive', 'enabled'],
  disabledMessage: MESSAGES.disabledMythosPreview,
};
const opus55: Spec = { ...base, rejectsForcedToolChoice: true, defaultEffort: 'medium' };
const opus5: Spec = { ...base, accepts: ['adaptive', 'disabled'], thinkingOffNeedsLowEffort: true };
const opus47: Spec = { ...base, accepts: ['adaptive', 'disabled'], defaultThinking: 'off' };
const sonnet55: Spec = {
  ...base,
  accepts: ['adaptive', 'between_tools'],
  thinkingOffNeedsLowEffort: true,
  rejectsForcedToolChoice: true,
  disabledMessage: MESSAGES.disabledSonnet55,
};
const sonnet5: Spec = { ...base, accepts: ['adaptive', 'disabled'] };
const haiku55: Spec = {
  ...base,
  accepts: ['adaptive', 'disabled'],
  thinkingOffNeedsLowEffort: true,
  defaultEffort: 'medium',
};
const gen46: Spec = {
  ...base,
  accepts: ['adaptive', 'enabled', 'disabled'],
  defaultThinking: 'off',
  defaultDisplay: 'summarized',
  legacySampling: true,
};
const gen45: Spec = {
  ...base,
  accepts: ['enabled', 'disabled'],
  defaultThinking: 'off',
  defaultDisplay: 'summarized',
  maxOutputTokens: 64_000,
  allowsPrefill: true,
  legacySampling: true,
};

const TABLE: Record<string, Spec> = {
  'claude-fable-5-2': fable51,
  'claude-mythos-5-2': fable51,
  'claude-fable-5-1': fable51,
  'claude-mythos-5-1': fable51,
  'claude-fable-5': fable5,
  'claude-mythos-5': fable5,
  'claude-mythos-preview': mythosPreview,
  'claude-opus-5-5': opus55,
  'claude-opus-5': opus5,
  'claude-opus-4-8': opus47,
  'claude-opus-4-7': opus47,
  'claude-sonnet-5-5': sonnet55,
  'claude-sonnet-5': sonnet5,
  'claude-haiku-5-5': haiku55,
  'claude-opus-4-6': gen46,
  'claude-sonnet-4-6': gen46,
  'claude-opus-4-5': gen45,
  'claude-opus-4-5-20251101': gen45,
  'claude-sonnet-4-5': gen45,
  'claude-sonnet-4-5-20250929': gen45,
  'claude-haiku-4-5': gen45,
  'claude-haiku-4-5-20251001': gen45,
};

/** Models with threshold compaction (reference long-conversations §1A, plus the 5.1 / 5.5 ones). */
const COMPACTION = new Set([
  'claude-fable-5',
  'claude-mythos-5',
  'claude-mythos-preview',
  'claude-opus-5',
  'claude-opus-4-8',
  'claude-opus-4-7',
  'claude-opus-4-6',
  'claude-sonnet-5',
  'claude-sonnet-4-6',
  'claude-fable-5-1',
  'claude-mythos-5-1',
  'claude-opus-5-5',
]);

/** 1M-token windows (reference long-conversations §3); every other model has 200k. */
const ONE_MILLION = new Set([
  'claude-opus-4-6',
  'claude-opus-4-7',
  'claude-opus-4-8',
  'claude-opus-5',
  'claude-opus-5-5',
  'claude-sonnet-4-6',
  'claude-sonnet-5',
  'claude-fable-5',
  'claude-fable-5-1',
  'claude-mythos-5',
  'claude-mythos-5-1',
  'claude-mythos-preview',
]);

export function findModel(id: string): ModelSpec | undefined {
  const spec = Object.hasOwn(TABLE, id) ? TABLE[id] : undefined;
  return (
    spec && {
      id,
      ...spec,
      compaction: COMPACTION.has(id),
      contextWindow: ONE_MILLION.has(id) ? 1_000_000 : 200_000,
    }
  );
}

export const MODEL_IDS: readonly string[] = Object.keys(TABLE);
