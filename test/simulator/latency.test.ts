import { describe, expect, it } from 'vitest';
import { cached, EPHEMERAL, longText, turn } from './cache-helpers';
import { expectError, newSim } from './helpers';

const BETA = { 'anthropic-beta': 'fast-mode-2026-02-01' };
const body = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  max_tokens: 1000,
  messages: [{ role: 'user', content: 'Quick: what is 2 + 2?' }],
  ...extra,
});

describe('speed', () => {
  it.each(['claude-fable-5-2', 'claude-mythos-5-2', 'claude-opus-5-5'])(
    'accepts fast on %s without a beta header',
    async (model) => {
      const sim = newSim();
      const json = await turn(sim, body(model, { speed: 'fast' }));
      expect(json.usage.speed).toBe('fast');
      const streamed = await turn(sim, body(model, { speed: 'fast' }), 'stream');
      expect(streamed.usage.speed).toBe('fast');
      expect(sim.requests[0]!.headers['anthropic-beta']).toBeUndefined();
    },
  );

  it.each(['claude-opus-5', 'claude-opus-4-8'])(
    'needs the fast-mode beta header on %s',
    async (model) => {
      const sim = newSim();
      for (const speed of ['fast', 'standard']) {
        const e = await expectError(sim, body(model, { speed }));
        expect([e.status, e.type]).toEqual([400, 'invalid_request_error']);
        expect(e.message).toBe(
          `speed: ${model} requires the \`anthropic-beta: fast-mode-2026-02-01\` header to set \`speed\`.`,
        );
      }
      const fast = await turn(sim, body(model, { speed: 'fast' }), 'json', {
        'anthropic-beta': 'interleaved-thinking-2025-05-14, fast-mode-2026-02-01',
      });
      expect(fast.usage.speed).toBe('fast');
      expect(sim.requests.at(-1)!.headers['anthropic-beta']).toContain('fast-mode-2026-02-01');
      // Without `speed` the header is not needed.
      expect((await turn(sim, body(model))).usage.speed).toBe('standard');
    },
  );

  it.each(['claude-sonnet-5-5', 'claude-fable-5-1', 'claude-haiku-4-5', 'claude-opus-4-7'])(
    'refuses fast on %s, header or not; standard and null are fine',
    async (model) => {
      const sim = newSim();
      for (const headers of [{}, BETA]) {
        const e = await expectError(sim, body(model, { speed: 'fast' }), headers);
        expect([e.status, e.message]).toEqual([
          400,
          'speed: fast mode is not supported for this model',
        ]);
      }
      expect((await turn(sim, body(model, { speed: 'standard' }))).usage.speed).toBe('standard');
      expect((await turn(sim, body(model, { speed: null }))).usage.speed).toBe('standard');
    },
  );

  it('refuses another value', async () => {
    const e = await expectError(newSim(), body('claude-opus-5-5', { speed: 'turbo' }));
    expect([e.status, e.message]).toEqual([400, "speed: Input should be 'standard' or 'fast'"]);
  });

  it('fast and standard do not share cache entries', async () => {
    const sim = newSim();
    const cachedBody = body('claude-opus-5-5', {
      system: longText(1200),
      cache_control: EPHEMERAL,
    });
    const standard = cached((await turn(sim, cachedBody)).usage);
    expect(standard.creation).toBeGreaterThan(1024);
    const fast = cached((await turn(sim, { ...cachedBody, speed: 'fast' })).usage);
    expect(fast).toMatchObject({ read: 0, creation: standard.creation });
    const again = cached((await turn(sim, { ...cachedBody, speed: 'fast' })).usage);
    expect(again).toMatchObject({ read: standard.creation, creation: 0 });
  });
});

describe('service_tier', () => {
  it.each(['auto', 'standard_only', undefined])('accepts %s on any model', async (tier) => {
    const sim = newSim();
    for (const model of ['claude-opus-4-8', 'claude-haiku-4-5', 'claude-fable-5-2']) {
      const t = await turn(sim, body(model, { service_tier: tier }), 'stream');
      expect(t.usage.service_tier).toBe('standard');
    }
  });

  it.each(['priority', 'standard', null, 1])('refuses %s', async (tier) => {
    const e = await expectError(newSim(), body('claude-opus-4-8', { service_tier: tier }));
    expect([e.status, e.type, e.message]).toEqual([
      400,
      'invalid_request_error',
      "service_tier: Input should be 'auto' or 'standard_only'",
    ]);
  });
});
