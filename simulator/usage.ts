// The `usage` objects of a response: in the JSON message and `message_start` (with the TTL
// breakdown, service tier and speed), and the cumulative figures of the final `message_delta`.
// With the compact beta, each also has `iterations`: a `compaction` entry when this request
// compacted, then the `message` entry. The top-level figures are the message iteration's.

import type {
  BetaCompactionIterationUsage,
  BetaMessageIterationUsage,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type { PromptUsage } from './cache';
import type { Plan } from './plan';

function inputUsage(prompt: PromptUsage) {
  return {
    input_tokens: prompt.input,
    cache_creation_input_tokens: prompt.cacheCreation,
    cache_read_input_tokens: prompt.cacheRead,
  };
}

const cacheCreation = (prompt: PromptUsage) => ({
  ephemeral_5m_input_tokens: prompt.creation5m,
  ephemeral_1h_input_tokens: prompt.creation1h,
});

/** `usage.iterations`, or nothing without the compact beta. `output`: the message iteration's. */
function iterations(plan: Plan, output: number) {
  if (!plan.iterations) return {};
  const list: (BetaCompactionIterationUsage | BetaMessageIterationUsage)[] = [];
  const { compaction } = plan;
  if (compaction)
    list.push({
      type: 'compaction',
      ...inputUsage(compaction.prompt),
      output_tokens: compaction.outputTokens,
      cache_creation: cacheCreation(compaction.prompt),
    });
  // After `pause_after_compaction` nothing was sampled: no message iteration.
  if (plan.stopReason !== 'compaction')
    list.push({
      type: 'message',
      ...inputUsage(plan.prompt),
      output_tokens: output,
      cache_creation: cacheCreation(plan.prompt),
      model: plan.model,
    });
  return { iterations: list };
}

function messageUsage(plan: Plan, output: Record<string, unknown>, outputTokens: number) {
  return {
    ...inputUsage(plan.prompt),
    cache_creation: cacheCreation(plan.prompt),
    ...output,
    service_tier: 'standard',
    speed: plan.speed,
    ...iterations(plan, outputTokens),
  };
}

const outputUsage = (plan: Plan) => ({
  output_tokens: plan.usage.output,
  output_tokens_details: { thinking_tokens: plan.usage.thinking },
});

/** Output tokens at `message_start`: not produced yet (1, or 0 when nothing will be sampled). */
const startOutput = (plan: Plan) => Math.min(1, plan.usage.output);

/** `message.usage` of `message_start`: output not produced yet. */
export const startUsage = (plan: Plan) =>
  messageUsage(plan, { output_tokens: startOutput(plan) }, startOutput(plan));

/** `usage` of the JSON message. */
export const finalUsage = (plan: Plan) => messageUsage(plan, outputUsage(plan), plan.usage.output);

/** `usage` of the final `message_delta` (SDK `MessageDeltaUsage`: cumulative). */
export const deltaUsage = (plan: Plan) => ({
  ...inputUsage(plan.prompt),
  ...outputUsage(plan),
  ...iterations(plan, plan.usage.output),
});

/** `diagnostics` of the message: null unless a previous message id revealed a divergence. */
export const diagnosticsOf = (plan: Plan) =>
  plan.cacheMissReason ? { cache_miss_reason: plan.cacheMissReason } : null;
