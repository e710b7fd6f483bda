// The `usage` objects of a response: in the JSON message and `message_start` (with the TTL
// breakdown, service tier and speed), and the cumulative figures of the final `message_delta`.

import type { Plan } from './plan';

function inputUsage(plan: Plan) {
  return {
    input_tokens: plan.prompt.input,
    cache_creation_input_tokens: plan.prompt.cacheCreation,
    cache_read_input_tokens: plan.prompt.cacheRead,
  };
}

function messageUsage(plan: Plan, output: Record<string, unknown>) {
  return {
    ...inputUsage(plan),
    cache_creation: {
      ephemeral_5m_input_tokens: plan.prompt.creation5m,
      ephemeral_1h_input_tokens: plan.prompt.creation1h,
    },
    ...output,
    service_tier: 'standard',
    speed: plan.speed,
  };
}

const outputUsage = (plan: Plan) => ({
  output_tokens: plan.usage.output,
  output_tokens_details: { thinking_tokens: plan.usage.thinking },
});

/** `message.usage` of `message_start`: output not produced yet. */
export const startUsage = (plan: Plan) => messageUsage(plan, { output_tokens: 1 });

/** `usage` of the JSON message. */
export const finalUsage = (plan: Plan) => messageUsage(plan, outputUsage(plan));

/** `usage` of the final `message_delta` (SDK `MessageDeltaUsage`: cumulative). */
export const deltaUsage = (plan: Plan) => ({ ...inputUsage(plan), ...outputUsage(plan) });

/** `diagnostics` of the message: null unless a previous message id revealed a divergence. */
export const diagnosticsOf = (plan: Plan) =>
  plan.cacheMissReason ? { cache_miss_reason: plan.cacheMissReason } : null;
