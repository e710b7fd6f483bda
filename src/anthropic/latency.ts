/**
 * Latency levers a key may buy: `speed: "fast"` (up to 2.5× output tokens per second, at a
 * premium) and `service_tier`. Sent only to models that take them, with the beta header
 * some need; anything else is a 400 before calling Claude. A request may choose them only
 * where its key allows.
 */
import { ApiError, invalid } from '../errors';
import type { KeyRecord } from '../store/keys';
import type { ModelSpec } from './models';

export type Speed = 'standard' | 'fast';
export type ServiceTier = 'auto' | 'standard_only';

const FAST_MODE_BETA = 'fast-mode-2026-02-01';

export interface LatencyPlan {
  speed?: Speed;
  service_tier?: ServiceTier;
  /** `anthropic-beta` values the request needs. */
  betas: string[];
}

export function planLatency(
  model: ModelSpec,
  key: KeyRecord,
  requested: { speed?: Speed; service_tier?: ServiceTier },
): LatencyPlan {
  const settings = key.latency ?? {};
  if (
    (requested.speed !== undefined || requested.service_tier !== undefined) &&
    !settings.client_may_choose
  ) {
    throw new ApiError(
      'permission_error',
      'This key may not choose speed or service_tier per request. The operator can allow it with latency.client_may_choose, or set them on the key.',
    );
  }
  const speed = requested.speed ?? settings.speed;
  const service_tier = requested.service_tier ?? settings.service_tier;
  const plan: LatencyPlan = { betas: [] };
  if (service_tier) plan.service_tier = service_tier;
  if (speed === 'fast') {
    if (model.fastMode === 'no') {
      throw invalid(
        `speed: fast mode is not available on ${model.id}. Use claude-opus-5-5, claude-fable-5-2 or claude-mythos-5-2 (or claude-opus-5 / claude-opus-4-8 in preview), or drop "speed".`,
      );
    }
    plan.speed = 'fast';
    if (model.fastMode === 'beta') plan.betas.push(FAST_MODE_BETA);
  }
  return plan;
}
