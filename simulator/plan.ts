// Decides what the simulated model answers: which blocks, in which order, with which signatures,
// ids, usage and stop reason. Rendering (SSE or JSON) happens elsewhere.

import type {
  BetaCompactionBlock,
  BetaRefusalStopDetails,
  BetaStopReason,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { RefusalStopDetails, ToolChoice } from '@anthropic-ai/sdk/resources/messages';
import { Builder, type PlannedBlock, type UsableTool } from './builder';
import type { PromptUsage } from './cache';
import { KNOWN_BLOCK_TYPES, messageBlocks } from './canonical';
import type { ConversationView } from './compaction';
import type { Conversation } from './conversation';
import { randomBase62, type Hmac } from './crypto';
import type { CacheMissReason } from './diagnostics';
import type { Fault, RefusalCategory } from './directives';
import type { Speed } from './latency';
import type { Effort } from './models';
import {
  afterToolsText,
  answerText,
  preToolText,
  synthesize,
  thinkingSummary,
  words,
} from './synth';
import type { ValidRequest } from './validate';
import type { Verification } from './verify';

export type { PlannedBlock } from './builder';

/** What the request's prompt costs and how it relates to earlier ones (decided before planning). */
export interface PromptFacts {
  prompt: PromptUsage;
  speed: Speed;
  /** Set when `diagnostics.previous_message_id` named a request this one diverged from. */
  cacheMissReason: CacheMissReason | null;
  /** The compaction this request triggered: its block and its own iteration's usage. */
  compaction: { block: BetaCompactionBlock; prompt: PromptUsage; outputTokens: number } | null;
  /** `usage.iterations` is reported (the request carries the compact beta). */
  iterations: boolean;
}

/** `stop_details` of a refusal: the SDK's `RefusalStopDetails` with the fallback fields. */
type StopDetails = RefusalStopDetails &
  Pick<
    BetaRefusalStopDetails,
    'fallback_credit_token' | 'fallback_has_prefill_claim' | 'recommended_model'
  >;

export interface Plan extends PromptFacts {
  id: string;
  model: string;
  blocks: PlannedBlock[];
  stopReason: BetaStopReason;
  stopSequence: string | null;
  stopDetails: StopDetails | null;
  usage: { output: number; thinking: number };
  thinkMs: number;
  compactMs: number;
  stallMs: number;
  textDelayMs: number;
  emptyThinkingDelta: boolean;
  fault: Fault | undefined;
}

const EFFORT_TOKENS: Record<Effort, number> = {
  low: 24,
  medium: 64,
  high: 128,
  xhigh: 192,
  max: 256,
};

function usableTools(raw: unknown): UsableTool[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((t: Record<string, unknown>): UsableTool[] => {
    const name = String(t.name);
    const type = typeof t.type === 'string' ? t.type : 'custom';
    if (type === 'custom') return [{ name, input: synthesize(t.input_schema) }];
    if (type.startsWith('bash_')) return [{ name, input: { command: 'echo example' } }];
    if (type.startsWith('text_editor_'))
      return [{ name, input: { command: 'view', path: 'example.txt' } }];
    return []; // server tools are not simulated
  });
}

const SYNTHETIC_TOOL: UsableTool = {
  name: 'make_file',
  input: { filename: 'example.txt', lines_of_text: ['example line one', 'example line two'] },
};

function chooseTool(
  tools: UsableTool[],
  choice: ToolChoice | undefined,
  named?: string,
): UsableTool | undefined {
  const byName = (name?: string) => (name ? tools.find((t) => t.name === name) : undefined);
  if (choice?.type === 'tool') return byName(choice.name);
  return byName(named) ?? tools[0];
}

const REFUSAL_TEXT = "I can't help with that request.";
const REFUSAL_EXPLANATIONS: Record<RefusalCategory, string> = {
  cyber:
    'This request was declined because it could enable cyber harm, such as malware or exploit development.',
  bio: 'This request was declined because it could enable biological harm, such as dangerous lab methods.',
  frontier_llm:
    'This request was declined because it could assist the development of competing AI models.',
  reasoning_extraction:
    'This request was declined because it asks the model to reproduce its internal reasoning in the response text.',
  general_harms:
    'This request was declined because it relates to an area that was determined to be harmful.',
};

function refusalDetails(category: RefusalCategory): StopDetails {
  return {
    type: 'refusal',
    category,
    explanation: REFUSAL_EXPLANATIONS[category],
    fallback_credit_token: null,
    fallback_has_prefill_claim: null,
    recommended_model: null,
  };
}

/** Where the new message sits, and what bounds its output. */
interface PlanContext {
  view: ConversationView;
  /** `prefixChain` over the view's messages. */
  prefixes: readonly Uint8Array[];
  /** Output tokens the context window leaves after the prompt. */
  windowRoom: number;
}

/**
 * The binding of the new message's blocks. After a compaction in this response, the prefix is
 * system + tools alone and the compaction block opens the message (it is added by the
 * builder). A continued message (sent back ending with a compaction block) binds to the
 * messages before it and keeps its blocks; otherwise the prefix is the whole view.
 */
function binding(context: PlanContext, compacting: boolean) {
  const { view, prefixes } = context;
  if (compacting) return { prefix: prefixes[0]!, seed: [] };
  if (view.continuation) {
    const last = view.messages[view.messages.length - 1]!;
    const seed = (messageBlocks(last) as Record<string, unknown>[]).filter((b) =>
      KNOWN_BLOCK_TYPES.has(String(b.type)),
    );
    return { prefix: prefixes[prefixes.length - 2]!, seed };
  }
  return { prefix: prefixes[prefixes.length - 1]!, seed: [] };
}

export async function planResponse(
  hmac: Hmac,
  req: ValidRequest,
  conv: Conversation,
  verification: Verification,
  context: PlanContext,
  facts: PromptFacts,
): Promise<Plan> {
  const { params, thinking, forcedTool } = req;
  const d = conv.directives;
  const messages = context.view.messages;
  const prefill = messages[messages.length - 1]!.role === 'assistant' && !context.view.continuation;
  const paused = facts.compaction !== null && req.compaction?.pause === true;
  const refusal = d.refusal;
  const tools = usableTools(params.tools);
  const choice = params.tool_choice;
  const maxTokensTool = d.fault === 'max_tokens_tool';

  let tool = chooseTool(tools, choice, d.tool);
  let callTools =
    !refusal &&
    !prefill &&
    tool !== undefined &&
    choice?.type !== 'none' &&
    (forcedTool || conv.toolStepsDone < (d.toolSteps ?? 1));
  if (maxTokensTool && !refusal) {
    tool ??= SYNTHETIC_TOOL;
    callTools = true;
  }
  const singleTool =
    maxTokensTool ||
    (choice && 'disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use);
  const toolCount = callTools ? (singleTool ? 1 : (d.parallelTools ?? 1)) : 0;

  // A tool loop whose latest assistant turn carries no thinking continues without thinking.
  const loopWithoutThinking = verification.loopIndex !== null && !verification.loopHasThinking;
  const mayThink = !prefill && !forcedTool && !d.noThinking && !loopWithoutThinking;
  const upFront = mayThink && thinking.upFront;
  const betweenTools = mayThink && thinking.type === 'between_tools';
  const wanted = thinking.budgetTokens ?? Infinity;
  const perBlock = Math.min(wanted, EFFORT_TOKENS[thinking.effort]);
  const k = d.thinkingBlocks ?? 1;
  const interleaved = upFront ? Math.min(k - 1, toolCount) : betweenTools ? toolCount : 0;
  const lead = upFront ? k - interleaved : 0;

  const windowBound = context.windowRoom < params.max_tokens;
  const b = new Builder(hmac, {
    ...binding(context, facts.compaction !== null),
    maxTokens: windowBound ? context.windowRoom : params.max_tokens,
    limitReason: windowBound ? 'model_context_window_exceeded' : 'max_tokens',
    display: thinking.display,
    stopSequences: params.stop_sequences ?? [],
    deltaWords: d.deltaWords ?? 2,
  });
  if (facts.compaction) b.addCompaction(facts.compaction.block);
  if (paused) return finish(b, 'compaction');

  let step = 0;
  for (let t = 0; t < lead; t++) {
    await b.addThinking(perBlock, thinkingSummary(conv.userText, step++));
    if (t === 0 && d.redacted) await b.addRedacted();
  }
  if (refusal) {
    const text =
      d.refusalAt === undefined ? REFUSAL_TEXT : words(answerText(conv.userText), d.refusalAt);
    if (d.refusalAt !== 0) b.addText(text);
    return finish(b, b.stop ?? 'refusal');
  }
  if (!forcedTool) {
    if (callTools) b.addText(preToolText(tool!.name, toolCount));
    else if (conv.toolResults.length)
      b.addText(afterToolsText(conv.toolResults, conv.userText, d.words));
    else if (prefill) b.addText(d.words ? words('continuing', d.words) : ' continuing the answer.');
    else b.addText(answerText(conv.userText, d.words));
  }
  if (d.fault === 'unknown_event') b.addUnknown();
  for (let p = 0; p < toolCount; p++) {
    if (p < interleaved) await b.addThinking(perBlock, thinkingSummary(conv.userText, step++));
    await b.addToolUse(tool!, maxTokensTool);
  }

  return finish(b, b.stopReason);

  function finish(b: Builder, stopReason: BetaStopReason): Plan {
    return {
      id: `msg_01${randomBase62()}`,
      model: params.model,
      blocks: b.blocks,
      stopReason,
      stopSequence: b.stopSequence,
      stopDetails: stopReason === 'refusal' ? refusalDetails(refusal ?? 'general_harms') : null,
      // After a pause nothing was sampled: the compaction iteration holds the whole cost.
      usage: { output: paused ? 0 : Math.max(1, b.output), thinking: b.thinking },
      thinkMs: d.thinkMs ?? 0,
      compactMs: facts.compaction ? (d.compactMs ?? 0) : 0,
      stallMs: d.stallMs ?? 0,
      textDelayMs: d.textDelayMs ?? 0,
      emptyThinkingDelta: !d.noEmptyDelta,
      fault: d.fault,
      ...facts,
    };
  }
}
