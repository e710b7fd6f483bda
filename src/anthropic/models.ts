/**
 * What each Claude model accepts, from the Messages API docs (see
 * ../shared/reference/anthropic-api.md §1.2 and §3.1, table of 2026-10-10). The edge answers
 * anything a model would reject with a 400 before calling it, so this table is the one
 * place to change when a model ships or its rules move.
 */
import { invalid } from '../errors';

export interface ModelSpec {
  id: string;
  /** `thinking.type: "adaptive"` (with `output_config.effort`). */
  adaptive: boolean;
  /** `thinking.type: "enabled"` with a manual `budget_tokens`. */
  manualBudget: boolean;
  /**
   * How thinking is turned off: `disabled` as is, `between_tools` (Sonnet 5.5's own form:
   * no up-front thinking), or not at all (always-on models).
   */
  off: 'disabled' | 'between_tools' | 'never';
  /** `tool_choice` `any` / `tool`: some models reject it on every request. */
  forcedToolChoice: boolean;
  maxOutputTokens: number;
  /** `speed: "fast"`: generally available, behind the `fast-mode-2026-02-01` beta, or not at all. */
  fastMode: 'yes' | 'beta' | 'no';
  /**
   * Server-side compaction (`compact_20260112`, beta `compact-2026-01-12`): the models the
   * compaction docs name (reference long-conversations.md §1). Elsewhere a conversation that
   * outgrows the context window ends with a 400 that says so.
   */
  compaction: boolean;
}

type Rules = Omit<ModelSpec, 'id'>;

const ALWAYS_ON: Rules = {
  adaptive: true,
  manualBudget: false,
  off: 'never',
  forcedToolChoice: false,
  maxOutputTokens: 128_000,
  fastMode: 'no',
  compaction: true,
};
const ADAPTIVE: Rules = {
  adaptive: true,
  manualBudget: false,
  off: 'disabled',
  forcedToolChoice: true,
  maxOutputTokens: 128_000,
  fastMode: 'no',
  compaction: true,
};
const ADAPTIVE_OR_MANUAL: Rules = { ...ADAPTIVE, manualBudget: true };
const MANUAL_ONLY: Rules = {
  adaptive: false,
  manualBudget: true,
  off: 'disabled',
  forcedToolChoice: true,
  maxOutputTokens: 64_000,
  fastMode: 'no',
  compaction: false,
};

const TABLE: Record<string, Rules> = {
  // Fast mode per the fast-mode docs (2026-11): GA on Fable/Mythos 5.2 and Opus 5.5; preview
  // behind the beta header on Opus 5 and Opus 4.8 (whose fast mode is removed 2026-11-30).
  // Compaction is documented up to the 5.1 generation and Opus 5.5; not (yet) on the 5.2
  // models, Sonnet 5.5 and Haiku 5.5.
  'claude-fable-5-2': { ...ALWAYS_ON, fastMode: 'yes', compaction: false },
  'claude-mythos-5-2': { ...ALWAYS_ON, fastMode: 'yes', compaction: false },
  'claude-fable-5-1': ALWAYS_ON,
  'claude-mythos-5-1': ALWAYS_ON,
  // Fable 5 / Mythos 5 reject `enabled` and `disabled` but take a forced tool_choice.
  'claude-fable-5': { ...ALWAYS_ON, forcedToolChoice: true },
  'claude-mythos-5': { ...ALWAYS_ON, forcedToolChoice: true },
  'claude-mythos-preview': { ...ALWAYS_ON, manualBudget: true, forcedToolChoice: true },
  'claude-opus-5-5': { ...ALWAYS_ON, fastMode: 'yes' },
  // Opus 5 and Haiku 5.5 reject `disabled` only at effort xhigh/max; the edge never sends an
  // effort with thinking off, so plain `disabled` is safe.
  'claude-opus-5': { ...ADAPTIVE, fastMode: 'beta' },
  'claude-opus-4-8': { ...ADAPTIVE, fastMode: 'beta' },
  'claude-opus-4-7': ADAPTIVE,
  'claude-sonnet-5-5': {
    ...ADAPTIVE,
    off: 'between_tools',
    forcedToolChoice: false,
    compaction: false,
  },
  'claude-sonnet-5': ADAPTIVE,
  'claude-haiku-5-5': { ...ADAPTIVE, compaction: false },
  'claude-opus-4-6': ADAPTIVE_OR_MANUAL,
  'claude-sonnet-4-6': ADAPTIVE_OR_MANUAL,
  'claude-opus-4-5': MANUAL_ONLY,
  'claude-opus-4-5-20251101': MANUAL_ONLY,
  'claude-sonnet-4-5': MANUAL_ONLY,
  'claude-sonnet-4-5-20250929': MANUAL_ONLY,
  'claude-haiku-4-5': MANUAL_ONLY,
  'claude-haiku-4-5-20251001': MANUAL_ONLY,
};

const KNOWN_MODELS: readonly string[] = Object.keys(TABLE);

export function modelSpec(id: string): ModelSpec | undefined {
  const rules = TABLE[id];
  return rules && { id, ...rules };
}

/** The model a request runs on: the operator's allow-list first, then what the table knows. */
/**
 * A model the client names itself (`/v1/messages`, count_tokens) must be one the operator
 * allows (`ALLOWED_MODELS`); with no list, any model goes to Claude, which judges it.
 */
export function checkAllowedModel(model: string, allowed: string[] | null): void {
  if (allowed && !allowed.includes(model)) {
    throw invalid(
      `model: "${model.slice(0, 100)}" is not allowed on this service. Choose one of: ${allowed.join(', ')}.`,
    );
  }
}

export function pickModel(
  requested: string | undefined,
  defaultModel: string,
  allowed: string[] | null,
): ModelSpec {
  const id = requested ?? defaultModel;
  const choices = (allowed ?? KNOWN_MODELS).filter((m) => TABLE[m]);
  if (allowed && !allowed.includes(id)) {
    throw invalid(
      `model: "${id}" is not allowed on this service. Choose one of: ${choices.join(', ')}.`,
    );
  }
  const spec = modelSpec(id);
  if (!spec) {
    throw invalid(
      `model: "${id}" is not a Claude model with extended thinking that this service knows. Choose one of: ${choices.join(', ')}.`,
    );
  }
  return spec;
}
