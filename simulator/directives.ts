// Magic strings that drive the simulator from a test: `[sim:name]` or `[sim:name=value]` in the
// text of the conversation's most recent user text message.

const FAULTS = [
  'overloaded',
  'overloaded_once',
  'rate_limit',
  'rate_limit_retry_after',
  'api_error',
  'auth',
  'midstream_error',
  'drop',
  'max_tokens_tool',
  'unknown_event',
] as const;
export type Fault = (typeof FAULTS)[number];

const REFUSAL_CATEGORIES = [
  'cyber',
  'bio',
  'frontier_llm',
  'reasoning_extraction',
  'general_harms',
] as const;
export type RefusalCategory = (typeof REFUSAL_CATEGORIES)[number];

export interface Directives {
  toolSteps?: number;
  tool?: string;
  parallelTools?: number;
  noThinking: boolean;
  thinkingBlocks?: number;
  redacted: boolean;
  noEmptyDelta: boolean;
  thinkMs?: number;
  /** Total silence (not even a ping) for N ms while thinking: an upstream that hung. */
  stallMs?: number;
  textDelayMs?: number;
  words?: number;
  /** Words per text delta (default 2). */
  deltaWords?: number;
  fault?: Fault;
  /** Refuse (`stop_reason: "refusal"`) in this category. */
  refusal?: RefusalCategory;
  /** Words of the normal answer streamed before the refusal (0: none) instead of a refusal line. */
  refusalAt?: number;
  /** Wait N ms (with pings) before the compaction block's delta. */
  compactMs?: number;
}

const DIRECTIVE = /\[sim:([a-z_]+)(?:=([^\]\s]*))?\]/g;

export function stripDirectives(text: string): string {
  return text.replace(DIRECTIVE, ' ').replace(/\s+/g, ' ').trim();
}

function count(value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Math.min(max, Math.max(min, Number(value)));
}

export function parseDirectives(text: string): Directives {
  const d: Directives = { noThinking: false, redacted: false, noEmptyDelta: false };
  for (const [, name, value] of text.matchAll(DIRECTIVE)) {
    switch (name) {
      case 'tool_steps':
        d.toolSteps = count(value, 0, 100);
        break;
      case 'tool':
        d.tool = value || undefined;
        break;
      case 'parallel_tools':
        d.parallelTools = count(value, 1, 16);
        break;
      case 'no_thinking':
        d.noThinking = true;
        break;
      case 'thinking_blocks':
        d.thinkingBlocks = count(value, 1, 16);
        break;
      case 'redacted':
        d.redacted = true;
        break;
      case 'no_empty_delta':
        d.noEmptyDelta = true;
        break;
      case 'think_ms':
        d.thinkMs = count(value, 0, 600_000);
        break;
      case 'stall_ms':
        d.stallMs = count(value, 0, 600_000);
        break;
      case 'text_delay_ms':
        d.textDelayMs = count(value, 0, 60_000);
        break;
      case 'words':
        d.words = count(value, 1, 1_000_000);
        break;
      case 'delta_words':
        d.deltaWords = count(value, 1, 1000);
        break;
      case 'refusal':
        d.refusal = (REFUSAL_CATEGORIES as readonly string[]).includes(value ?? '')
          ? (value as RefusalCategory)
          : 'general_harms';
        break;
      case 'refusal_at':
        d.refusalAt = count(value, 0, 1_000_000);
        break;
      case 'compact_ms':
        d.compactMs = count(value, 0, 600_000);
        break;
      case 'fail':
        if ((FAULTS as readonly string[]).includes(value ?? '')) d.fault = value as Fault;
        break;
    }
  }
  return d;
}
