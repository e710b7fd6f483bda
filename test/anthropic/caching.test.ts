/**
 * The prompt-cache breakpoints on the outgoing request (src/anthropic/caching.ts): one fixed
 * breakpoint at the end of `system` (or of `tools` when there is no system), one moving
 * top-level `cache_control`, both with the same TTL; none at all when caching is off; the
 * caller's params never touched.
 */
import type { TextBlockParam, Tool } from '@anthropic-ai/sdk/resources/messages';
import { describe, expect, it } from 'vitest';
import {
  type CacheTtl,
  type Cacheable,
  cacheTtlFor,
  withCacheBreakpoints,
} from '../../src/anthropic/caching';

const tool = (name: string): Tool => ({
  name,
  description: `the ${name} tool`,
  input_schema: { type: 'object', properties: {} },
});
const block = (text: string): TextBlockParam => ({ type: 'text', text });

const marker = (ttl: CacheTtl) => ({ type: 'ephemeral' as const, ttl });
/** Every position that carries a cache_control, as a path, so a stray marker shows up. */
function markedPaths(value: unknown, path = ''): string[] {
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const here = path ? `${path}.${k}` : k;
    return k === 'cache_control' ? [here] : markedPaths(v, here);
  });
}

interface PlacementRow {
  name: string;
  params: Cacheable & { model: string };
  /** Every path that must carry the marker, top-level included; no other path may. */
  marked: string[];
  /** What the fixed breakpoint turns `system` into (undefined: left as it was). */
  system?: TextBlockParam[];
}

/** Fresh rows for each table, so no test can see what another did to its params. */
const placement = (): PlacementRow[] => [
  {
    name: 'a string system (turned into one text block)',
    params: { model: 'm', system: 'You are terse.', tools: [tool('a'), tool('b')] },
    marked: ['cache_control', 'system.0.cache_control'],
    system: [{ type: 'text', text: 'You are terse.', cache_control: marker('1h') }],
  },
  {
    name: 'system blocks (the last block only)',
    params: { model: 'm', system: [block('one'), block('two'), block('three')] },
    marked: ['cache_control', 'system.2.cache_control'],
    system: [
      block('one'),
      block('two'),
      { type: 'text', text: 'three', cache_control: marker('1h') },
    ],
  },
  {
    name: 'tools when there is no system (the last tool only)',
    params: { model: 'm', tools: [tool('a'), tool('b'), tool('c')] },
    marked: ['cache_control', 'tools.2.cache_control'],
  },
  {
    name: 'tools when system is an empty string',
    params: { model: 'm', system: '', tools: [tool('a')] },
    marked: ['cache_control', 'tools.0.cache_control'],
  },
  {
    name: 'tools when system is an empty block list',
    params: { model: 'm', system: [], tools: [tool('a'), tool('b')] },
    marked: ['cache_control', 'tools.1.cache_control'],
  },
  {
    name: 'nowhere but the top level with neither system nor tools',
    params: { model: 'm' },
    marked: ['cache_control'],
  },
  {
    name: 'nowhere but the top level with an empty system and no tools',
    params: { model: 'm', system: '', tools: [] },
    marked: ['cache_control'],
  },
];

describe('withCacheBreakpoints: where the fixed breakpoint goes', () => {
  it.each(placement())('puts it on $name', ({ params, marked, system }) => {
    const out = withCacheBreakpoints(params, '1h');
    expect(markedPaths(out).sort()).toEqual([...marked].sort());
    for (const path of marked) {
      const value = path
        .split('.')
        .reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], out);
      expect(value, path).toEqual(marker('1h'));
    }
    if (system) expect(out.system).toEqual(system);
  });

  it.each(placement())('keeps everything but the markers as it was for $name', ({ params }) => {
    const out = withCacheBreakpoints(params, '1h');
    const strip = (v: unknown): unknown =>
      JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'cache_control' ? undefined : x)));
    const expected = strip(params) as Record<string, unknown>;
    // A string system goes out as the one text block it stands for.
    if (typeof params.system === 'string' && params.system.length > 0) {
      expected.system = [block(params.system)];
    }
    expect(strip(out)).toEqual(expected);
    expect(out.model).toBe(params.model);
  });
});

describe('withCacheBreakpoints: the TTL', () => {
  it.each([
    { ttl: '5m' as const, name: '5m' },
    { ttl: '1h' as const, name: '1h' },
  ])('uses ttl $name on both the fixed and the moving breakpoint', ({ ttl }) => {
    const out = withCacheBreakpoints({ system: [block('s')], tools: [tool('t')] }, ttl);
    expect((out as { cache_control?: unknown }).cache_control).toEqual({ type: 'ephemeral', ttl });
    expect((out.system as TextBlockParam[])[0]!.cache_control).toEqual({ type: 'ephemeral', ttl });
  });

  it.each(placement())(
    'adds no marker anywhere when caching is off (null), for $name',
    ({ params }) => {
      const out = withCacheBreakpoints(params, null);
      expect(markedPaths(out)).toEqual([]);
      expect(out).toEqual(params);
    },
  );
});

describe('withCacheBreakpoints leaves the caller params untouched', () => {
  it.each(placement())('for $name', ({ params }) => {
    const before = structuredClone(params);
    const frozen = deepFreeze(structuredClone(params));
    // Frozen input: any write to it would throw in strict-mode module code.
    expect(() => withCacheBreakpoints(frozen, '5m')).not.toThrow();
    withCacheBreakpoints(params, '5m');
    expect(params).toEqual(before);
    expect(markedPaths(params)).toEqual([]);
  });
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe('cacheTtlFor: the key choice first, then the operator default', () => {
  it.each<{
    name: string;
    key: CacheTtl | 'off' | undefined;
    operator: CacheTtl | null;
    want: CacheTtl | null;
  }>([
    {
      name: 'a key with "off" disables caching the operator enables',
      key: 'off',
      operator: '1h',
      want: null,
    },
    {
      name: 'a key with "off" stays off when the operator is off too',
      key: 'off',
      operator: null,
      want: null,
    },
    { name: 'a key with 5m beats the operator 1h', key: '5m', operator: '1h', want: '5m' },
    { name: 'a key with 1h beats the operator 5m', key: '1h', operator: '5m', want: '1h' },
    {
      name: 'a key with 1h turns caching on when the operator has it off',
      key: '1h',
      operator: null,
      want: '1h',
    },
    {
      name: 'a key without a choice takes the operator 5m',
      key: undefined,
      operator: '5m',
      want: '5m',
    },
    {
      name: 'a key without a choice takes the operator 1h',
      key: undefined,
      operator: '1h',
      want: '1h',
    },
    {
      name: 'a key without a choice is off when the operator is off',
      key: undefined,
      operator: null,
      want: null,
    },
  ])('$name', ({ key, operator, want }) => {
    expect(cacheTtlFor(key, operator)).toBe(want);
  });
});
