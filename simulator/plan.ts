// Decides what the simulated model answers: which blocks, in which order, with which signatures,
// ids, usage and stop reason. Rendering (SSE or JSON) happens elsewhere.

import type { StopReason, ToolChoice } from '@anthropic-ai/sdk/resources/messages';
import { Builder, type PlannedBlock, type UsableTool } from './builder';
import type { PromptUsage } from './cache';
import type { Conversation } from './conversation';
import { randomBase62, type Hmac } from './crypto';
import type { CacheMissReason } from './diagnostics';
import type { Fault } from './directives';
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
}

export interface Plan extends PromptFacts {
  id: string;
  model: string;
  blocks: PlannedBlock[];
  stopReason: StopReason;
  stopSequence: string | null;
  usage: { output: number; thinking: number };
  thinkMs: number;
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

export async function planResponse(
  hmac: Hmac,
  req: ValidRequest,
  conv: Conversation,
  verification: Verification,
  /** Binding of system + tools + all request messages: the prefix of the new message. */
  prefix: Uint8Array,
  facts: PromptFacts,
): Promise<Plan> {
  const { params, thinking, forcedTool } = req;
  const d = conv.directives;
  const messages = params.messages;
  const prefill = messages[messages.length - 1]!.role === 'assistant';
  const tools = usableTools(params.tools);
  const choice = params.tool_choice;
  const maxTokensTool = d.fault === 'max_tokens_tool';

  let tool = chooseTool(tools, choice, d.tool);
  let callTools =
    !prefill &&
    tool !== undefined &&
    choice?.type !== 'none' &&
    (forcedTool || conv.toolStepsDone < (d.toolSteps ?? 1));
  if (maxTokensTool) {
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

  const b = new Builder(
    hmac,
    prefix,
    params.max_tokens,
    thinking.display,
    params.stop_sequences ?? [],
  );
  let step = 0;
  for (let t = 0; t < lead; t++) {
    await b.addThinking(perBlock, thinkingSummary(conv.userText, step++));
    if (t === 0 && d.redacted) await b.addRedacted();
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

  return {
    id: `msg_01${randomBase62()}`,
    model: params.model,
    blocks: b.blocks,
    stopReason: b.stopReason,
    stopSequence: b.stopSequence,
    usage: { output: Math.max(1, b.output), thinking: b.thinking },
    thinkMs: d.thinkMs ?? 0,
    stallMs: d.stallMs ?? 0,
    textDelayMs: d.textDelayMs ?? 0,
    emptyThinkingDelta: !d.noEmptyDelta,
    fault: d.fault,
    ...facts,
  };
}
