import { describe, expect, it } from 'vitest';
import { modelSpec, pickModel } from '../../src/anthropic/models';
import { planThinking } from '../../src/anthropic/thinking';
import { ApiError } from '../../src/errors';

const spec = (id: string) => {
  const s = modelSpec(id);
  if (!s) throw new Error(`no spec for ${id}`);
  return s;
};
const plan = (
  id: string,
  ...rest: Parameters<typeof planThinking> extends [unknown, ...infer R] ? R : never
) => planThinking(spec(id), ...rest);
const rejects = (fn: () => unknown, pattern: RegExp) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).message).toMatch(pattern);
    return;
  }
  throw new Error('expected a 400');
};

describe('thinking plan from the model table', () => {
  it('asks adaptive models for adaptive thinking with display omitted, and passes effort as output_config', () => {
    expect(plan('claude-opus-4-8', { effort: 'xhigh' }, 8000, 16000, undefined)).toEqual({
      thinking: { type: 'adaptive', display: 'omitted' },
      output_config: { effort: 'xhigh' },
      max_tokens: 8000,
    });
  });

  it('turns thinking on explicitly when the request names none (Opus 4.7/4.8 would otherwise not think)', () => {
    expect(plan('claude-opus-4-7', undefined, undefined, 16000, undefined)).toEqual({
      thinking: { type: 'adaptive', display: 'omitted' },
      max_tokens: 16000,
    });
  });

  it('sends a manual budget only where the model accepts it, with display omitted', () => {
    expect(
      plan('claude-sonnet-4-5', { budget_tokens: 2048 }, 4096, 16000, undefined).thinking,
    ).toEqual({
      type: 'enabled',
      budget_tokens: 2048,
      display: 'omitted',
    });
    rejects(
      () => plan('claude-opus-4-8', { budget_tokens: 2048 }, 4096, 16000, undefined),
      /does not take a manual thinking budget/,
    );
  });

  it('maps an effort to a budget that fits max_tokens on models without adaptive thinking', () => {
    const p = plan('claude-haiku-4-5', { effort: 'high' }, 8000, 16000, undefined);
    expect(p.thinking).toEqual({ type: 'enabled', budget_tokens: 7999, display: 'omitted' });
    rejects(
      () => plan('claude-haiku-4-5', { effort: 'low' }, 1000, 16000, undefined),
      /max_tokens above 1024/,
    );
  });

  it('refuses a budget under 1024 or not below max_tokens', () => {
    rejects(
      () => plan('claude-opus-4-6', { budget_tokens: 1000 }, 4096, 16000, undefined),
      /at least 1024/,
    );
    rejects(
      () => plan('claude-opus-4-6', { budget_tokens: 4096 }, 4096, 16000, undefined),
      /less than max_tokens/,
    );
  });

  it('refuses max_tokens above the model output limit', () => {
    rejects(
      () => plan('claude-sonnet-4-5', undefined, 64_001, 16000, undefined),
      /output limit of 64000/,
    );
    expect(plan('claude-opus-5', undefined, 128_000, 16000, undefined).max_tokens).toBe(128_000);
  });

  it('turns thinking off the way each model takes it, and refuses it on always-on models', () => {
    expect(
      plan('claude-opus-4-8', { type: 'disabled' }, undefined, 16000, undefined).thinking,
    ).toEqual({ type: 'disabled' });
    expect(
      plan('claude-sonnet-5-5', { type: 'disabled' }, undefined, 16000, undefined).thinking,
    ).toEqual({ type: 'between_tools' });
    rejects(
      () => plan('claude-opus-5-5', { type: 'disabled' }, undefined, 16000, undefined),
      /always thinks/,
    );
    rejects(
      () => plan('claude-fable-5-1', { type: 'disabled' }, undefined, 16000, undefined),
      /always thinks/,
    );
  });

  it('refuses a forced tool_choice under a manual budget and on models that never take one', () => {
    const forced = { type: 'any' as const };
    rejects(
      () => plan('claude-sonnet-4-5', { budget_tokens: 2048 }, 4096, 16000, forced),
      /manual thinking budget/,
    );
    rejects(
      () => plan('claude-opus-5-5', undefined, undefined, 16000, { type: 'tool', name: 'x' }),
      /does not accept a forced tool_choice/,
    );
    expect(plan('claude-opus-4-8', { effort: 'low' }, undefined, 16000, forced).thinking.type).toBe(
      'adaptive',
    );
    expect(
      plan('claude-sonnet-4-5', { type: 'disabled' }, undefined, 16000, forced).thinking.type,
    ).toBe('disabled');
  });

  it('picks the default model, honours ALLOWED_MODELS and names the choices on a bad model', () => {
    expect(pickModel(undefined, 'claude-sonnet-5', null).id).toBe('claude-sonnet-5');
    rejects(
      () => pickModel('claude-opus-5', 'claude-sonnet-5', ['claude-sonnet-5']),
      /not allowed.*claude-sonnet-5/,
    );
    rejects(() => pickModel('gpt-4', 'claude-sonnet-5', null), /Choose one of: .*claude-opus-4-8/);
  });
});
