// Latency levers: `speed` (fast mode, per model and beta header) and `service_tier`.

import { invalid } from './errors';
import type { ModelSpec } from './models';

export type Speed = 'standard' | 'fast';
type ServiceTier = 'auto' | 'standard_only';

const FAST_MODE_BETA = 'fast-mode-2026-02-01';

/** Models with fast mode: `ga` needs no header; `beta` needs FAST_MODE_BETA for any `speed`. */
const FAST_MODE: Record<string, 'ga' | 'beta'> = {
  'claude-fable-5-2': 'ga',
  'claude-mythos-5-2': 'ga',
  'claude-opus-5-5': 'ga',
  'claude-opus-5': 'beta',
  'claude-opus-4-8': 'beta',
};

const LATENCY_ERRORS = {
  speedValue: "speed: Input should be 'standard' or 'fast'",
  fastUnsupported: 'speed: fast mode is not supported for this model',
  betaRequired: (model: string) =>
    `speed: ${model} requires the \`anthropic-beta: ${FAST_MODE_BETA}\` header to set \`speed\`.`,
  serviceTier: "service_tier: Input should be 'auto' or 'standard_only'",
};

export interface Latency {
  /** The speed that applies (`standard` when absent or null). */
  speed: Speed;
  serviceTier: ServiceTier;
}

export function checkLatency(
  body: Record<string, unknown>,
  model: ModelSpec,
  betas: readonly string[],
): Latency {
  const raw = body.speed;
  if (raw !== undefined && raw !== null && raw !== 'standard' && raw !== 'fast')
    throw invalid(LATENCY_ERRORS.speedValue);
  const mode = Object.hasOwn(FAST_MODE, model.id) ? FAST_MODE[model.id] : undefined;
  if (raw === 'fast' && !mode) throw invalid(LATENCY_ERRORS.fastUnsupported);
  // The SDK: "Some models require the fast-mode-2026-02-01 beta header for any `speed` value."
  if (raw !== undefined && raw !== null && mode === 'beta' && !betas.includes(FAST_MODE_BETA))
    throw invalid(LATENCY_ERRORS.betaRequired(model.id));

  const tier = body.service_tier;
  if (tier !== undefined && tier !== 'auto' && tier !== 'standard_only')
    throw invalid(LATENCY_ERRORS.serviceTier);

  return { speed: raw === 'fast' ? 'fast' : 'standard', serviceTier: tier ?? 'auto' };
}
