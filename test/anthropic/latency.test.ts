/**
 * The latency levers (src/anthropic/latency.ts): a key's own speed / service_tier, a
 * request's only where the key allows it (else 403), fast mode only on models that have it
 * (else 400), and the beta header on the models whose fast mode is a preview
 * (src/anthropic/models.ts: GA on claude-opus-5-5, claude-fable-5-2, claude-mythos-5-2;
 * beta on claude-opus-5, claude-opus-4-8; none elsewhere).
 */
import { describe, expect, it } from 'vitest';
import { type Speed, type ServiceTier, planLatency } from '../../src/anthropic/latency';
import { modelSpec } from '../../src/anthropic/models';
import { ApiError } from '../../src/errors';
import type { KeyRecord } from '../../src/store/keys';

const FAST_BETA = 'fast-mode-2026-02-01';

const spec = (id: string) => {
  const s = modelSpec(id);
  if (!s) throw new Error(`no spec for ${id}`);
  return s;
};
const key = (latency?: KeyRecord['latency']): KeyRecord => ({
  id: 'key_test',
  name: 'test',
  kind: 'secret',
  allowed_origins: [],
  limits: {},
  ...(latency ? { latency } : {}),
  prefix: 'sk_test',
  created_at: '2026-01-01T00:00:00.000Z',
});
const caught = (fn: () => unknown): ApiError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  }
  throw new Error('expected an ApiError');
};

type Requested = { speed?: Speed; service_tier?: ServiceTier };

describe('planLatency: what the key sets', () => {
  it.each<{ name: string; model: string; latency?: KeyRecord['latency']; want: object }>([
    {
      name: 'a key with no latency settings sends nothing',
      model: 'claude-opus-5-5',
      want: { betas: [] },
    },
    {
      name: 'a key with speed fast gets fast on a GA fast-mode model, without a beta',
      model: 'claude-opus-5-5',
      latency: { speed: 'fast' },
      want: { speed: 'fast', betas: [] },
    },
    {
      name: 'a key with speed fast gets fast on claude-fable-5-2 (GA)',
      model: 'claude-fable-5-2',
      latency: { speed: 'fast' },
      want: { speed: 'fast', betas: [] },
    },
    {
      name: 'a key with speed fast gets fast on claude-mythos-5-2 (GA)',
      model: 'claude-mythos-5-2',
      latency: { speed: 'fast' },
      want: { speed: 'fast', betas: [] },
    },
    {
      name: 'a key with speed fast gets fast plus the beta header on claude-opus-5 (preview)',
      model: 'claude-opus-5',
      latency: { speed: 'fast' },
      want: { speed: 'fast', betas: [FAST_BETA] },
    },
    {
      name: 'a key with speed fast gets fast plus the beta header on claude-opus-4-8 (preview)',
      model: 'claude-opus-4-8',
      latency: { speed: 'fast' },
      want: { speed: 'fast', betas: [FAST_BETA] },
    },
    {
      name: 'a key with speed standard sends no speed (standard is the default) on any model',
      model: 'claude-sonnet-5',
      latency: { speed: 'standard' },
      want: { betas: [] },
    },
    {
      name: 'a key with service_tier auto sends it',
      model: 'claude-sonnet-5',
      latency: { service_tier: 'auto' },
      want: { service_tier: 'auto', betas: [] },
    },
    {
      name: 'a key with service_tier standard_only sends it',
      model: 'claude-haiku-4-5',
      latency: { service_tier: 'standard_only' },
      want: { service_tier: 'standard_only', betas: [] },
    },
    {
      name: 'a key with both sends both, and the beta where the model needs it',
      model: 'claude-opus-4-8',
      latency: { speed: 'fast', service_tier: 'standard_only' },
      want: { speed: 'fast', service_tier: 'standard_only', betas: [FAST_BETA] },
    },
  ])('$name', ({ model, latency, want }) => {
    expect(planLatency(spec(model), key(latency), {})).toEqual(want);
  });
});

describe('planLatency: a request choosing speed or service_tier needs client_may_choose', () => {
  it.each<{ name: string; latency?: KeyRecord['latency']; requested: Requested }>([
    { name: 'speed, on a key with no latency settings', requested: { speed: 'fast' } },
    { name: 'speed standard, on a key with no latency settings', requested: { speed: 'standard' } },
    {
      name: 'service_tier, on a key with no latency settings',
      requested: { service_tier: 'auto' },
    },
    {
      name: 'speed, on a key that sets client_may_choose false',
      latency: { client_may_choose: false },
      requested: { speed: 'fast' },
    },
    {
      name: 'service_tier, on a key that sets its own tier but not client_may_choose',
      latency: { service_tier: 'auto' },
      requested: { service_tier: 'standard_only' },
    },
    {
      name: 'the same speed the key already sets, without client_may_choose',
      latency: { speed: 'fast' },
      requested: { speed: 'fast' },
    },
  ])('refuses $name with a 403 permission_error', ({ latency, requested }) => {
    const err = caught(() => planLatency(spec('claude-opus-5-5'), key(latency), requested));
    expect(err.status).toBe(403);
    expect(err.type).toBe('permission_error');
    expect(err.message).toMatch(/may not choose speed or service_tier/);
    expect(err.message).toMatch(/latency\.client_may_choose/);
  });

  it.each<{
    name: string;
    model: string;
    latency: KeyRecord['latency'];
    requested: Requested;
    want: object;
  }>([
    {
      name: 'a requested fast speed',
      model: 'claude-opus-5-5',
      latency: { client_may_choose: true },
      requested: { speed: 'fast' },
      want: { speed: 'fast', betas: [] },
    },
    {
      name: 'a requested fast speed, with the beta on a preview model',
      model: 'claude-opus-5',
      latency: { client_may_choose: true },
      requested: { speed: 'fast' },
      want: { speed: 'fast', betas: [FAST_BETA] },
    },
    {
      name: 'a requested standard speed over the key fast one',
      model: 'claude-opus-4-8',
      latency: { client_may_choose: true, speed: 'fast' },
      requested: { speed: 'standard' },
      want: { betas: [] },
    },
    {
      name: 'a requested service_tier over the key one',
      model: 'claude-sonnet-5',
      latency: { client_may_choose: true, service_tier: 'standard_only' },
      requested: { service_tier: 'auto' },
      want: { service_tier: 'auto', betas: [] },
    },
    {
      name: 'the key settings for whatever the request leaves out',
      model: 'claude-opus-4-8',
      latency: { client_may_choose: true, speed: 'fast', service_tier: 'standard_only' },
      requested: { service_tier: 'auto' },
      want: { speed: 'fast', service_tier: 'auto', betas: [FAST_BETA] },
    },
  ])('honours $name when the key sets client_may_choose', ({ model, latency, requested, want }) => {
    expect(planLatency(spec(model), key(latency), requested)).toEqual(want);
  });
});

describe('planLatency: fast mode only where the model has it', () => {
  it.each<{ name: string; model: string; latency: KeyRecord['latency']; requested: Requested }>([
    {
      name: 'a key-level fast speed on claude-sonnet-5',
      model: 'claude-sonnet-5',
      latency: { speed: 'fast' },
      requested: {},
    },
    {
      name: 'a key-level fast speed on claude-opus-4-7',
      model: 'claude-opus-4-7',
      latency: { speed: 'fast' },
      requested: {},
    },
    {
      name: 'a key-level fast speed on claude-fable-5-1 (fast mode only from 5.2)',
      model: 'claude-fable-5-1',
      latency: { speed: 'fast' },
      requested: {},
    },
    {
      name: 'a requested fast speed on claude-haiku-4-5',
      model: 'claude-haiku-4-5',
      latency: { client_may_choose: true },
      requested: { speed: 'fast' },
    },
  ])('refuses $name with a 400 naming the model', ({ model, latency, requested }) => {
    const err = caught(() => planLatency(spec(model), key(latency), requested));
    expect(err.status).toBe(400);
    expect(err.type).toBe('invalid_request_error');
    expect(err.message).toContain(`fast mode is not available on ${model}`);
  });

  it('lets a request avoid the 400 on a model without fast mode by asking for standard', () => {
    const plan = planLatency(
      spec('claude-sonnet-5'),
      key({ client_may_choose: true, speed: 'fast' }),
      { speed: 'standard' },
    );
    expect(plan).toEqual({ betas: [] });
  });
});
