// `context_management` of a request (reference long-conversations §1A): the threshold compaction
// edit `compact_20260112`, behind `anthropic-beta: compact-2026-01-12`, on the models that have
// it. The context-editing strategies (`clear_tool_uses_20250919`, `clear_thinking_20251015`) are
// recognised but not simulated: they get a 400 that says so.

import type { BetaCompact20260112Edit } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { invalid } from './errors';
import type { ModelSpec } from './models';

export const COMPACT_BETA = 'compact-2026-01-12';
const DEFAULT_TRIGGER = 150_000;
const MIN_TRIGGER = 50_000;
const EDIT_TYPES = ['clear_tool_uses_20250919', 'clear_thinking_20251015', 'compact_20260112'];
const EDIT_FIELDS = new Set<keyof BetaCompact20260112Edit>([
  'type',
  'trigger',
  'pause_after_compaction',
  'instructions',
]);

/** A `compact_20260112` edit, defaults applied. */
export interface CompactionConfig {
  /** Compact when the prompt (input + cache creation + cache read) exceeds this many tokens. */
  trigger: number;
  /** Answer with the compaction block alone (`stop_reason: "compaction"`). */
  pause: boolean;
  instructions: string | null;
}

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

function extraField(value: Obj, allowed: ReadonlySet<string>, at: string): void {
  const extra = Object.keys(value).find((k) => !allowed.has(k));
  if (extra !== undefined) throw invalid(`${at}.${extra}: Extra inputs are not permitted`);
}

function readTrigger(raw: unknown, at: string): number {
  if (raw === undefined || raw === null) return DEFAULT_TRIGGER;
  if (!isObject(raw)) throw invalid(`${at}: Input should be a valid dictionary or object`);
  extraField(raw, new Set(['type', 'value']), at);
  if (raw.type !== 'input_tokens') throw invalid(`${at}.type: Input should be 'input_tokens'`);
  if (raw.value === undefined) throw invalid(`${at}.value: Field required`);
  if (!isInt(raw.value) || raw.value < MIN_TRIGGER)
    throw invalid(
      `${at}.value: Input should be an integer greater than or equal to ${MIN_TRIGGER}`,
    );
  return raw.value;
}

function readCompactEdit(edit: Obj, at: string): CompactionConfig {
  extraField(edit, EDIT_FIELDS as ReadonlySet<string>, at);
  const trigger = readTrigger(edit.trigger, `${at}.trigger`);
  const pause = edit.pause_after_compaction;
  if (pause !== undefined && pause !== null && typeof pause !== 'boolean')
    throw invalid(`${at}.pause_after_compaction: Input should be a valid boolean`);
  const instructions = edit.instructions;
  if (instructions !== undefined && instructions !== null && typeof instructions !== 'string')
    throw invalid(`${at}.instructions: Input should be a valid string`);
  return { trigger, pause: pause === true, instructions: instructions ?? null };
}

/** The compaction edit of a request, or null when it has none. */
export function readContextManagement(
  raw: unknown,
  model: ModelSpec,
  betas: readonly string[],
): CompactionConfig | null {
  if (raw === undefined || raw === null) return null;
  if (!isObject(raw))
    throw invalid('context_management: Input should be a valid dictionary or object');
  extraField(raw, new Set(['edits']), 'context_management');
  const edits = raw.edits;
  if (edits === undefined || edits === null) return null;
  if (!Array.isArray(edits))
    throw invalid('context_management.edits: Input should be a valid list');

  let compaction: CompactionConfig | null = null;
  edits.forEach((edit: unknown, i) => {
    const at = `context_management.edits.${i}`;
    if (!isObject(edit)) throw invalid(`${at}: Input should be a valid dictionary or object`);
    if (!EDIT_TYPES.includes(String(edit.type)))
      throw invalid(
        `${at}.type: Input tag '${String(edit.type)}' found using 'type' does not match any of the expected tags: ${EDIT_TYPES.map((t) => `'${t}'`).join(', ')}`,
      );
    if (edit.type !== 'compact_20260112')
      throw invalid(
        `${at}: ${String(edit.type)} is not simulated (the simulator implements only compact_20260112)`,
      );
    if (!betas.includes(COMPACT_BETA))
      throw invalid(
        `${at}: the compact_20260112 edit requires the \`anthropic-beta: ${COMPACT_BETA}\` header`,
      );
    if (!model.compaction)
      throw invalid(`${at}: compaction is not supported for model ${model.id}`);
    if (compaction) throw invalid(`${at}: only one compact_20260112 edit may be given`);
    compaction = readCompactEdit(edit, at);
  });
  return compaction;
}
